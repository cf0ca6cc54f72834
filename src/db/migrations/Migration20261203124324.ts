import { Migration } from '@mikro-orm/migrations';

export class Migration20261203124324 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`messages\` add \`reasoning\` mediumtext null, add \`finish_reason\` varchar(16) null, add \`reasoning_tokens\` int null, add \`usage_estimated\` tinyint(1) not null default false;`);
    // Replies written before finish reasons were recorded: the reason their status implies.
    this.addSql(`update \`messages\` set \`finish_reason\` = case \`status\` when 'COMPLETE' then 'STOP' when 'STOPPED' then 'CANCELLED' when 'FAILED' then 'ERROR' end where \`role\` = 'ASSISTANT' and \`status\` in ('COMPLETE', 'STOPPED', 'FAILED');`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`messages\` drop column \`reasoning\`, drop column \`finish_reason\`, drop column \`reasoning_tokens\`, drop column \`usage_estimated\`;`);
  }

}
