import { Migration } from '@mikro-orm/migrations';

/** Content security: every hit as a row (moderation_events), and users' suspensions. Additive only. */

export class Migration20261203134852 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`moderation_events\` (\`id\` varchar(26) not null, \`user_id\` varchar(26) null, \`stage\` varchar(8) not null, \`engine\` varchar(16) not null, \`action\` varchar(8) not null, \`labels\` varchar(255) not null, \`field\` varchar(64) null, \`message_id\` varchar(26) null, \`excerpt\` varchar(64) not null, \`text_hash\` varchar(64) not null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`moderation_events\` add index \`moderation_events_user_id_created_at_index\`(\`user_id\`, \`created_at\`);`);

    this.addSql(`alter table \`users\` add \`suspended_until\` datetime(3) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`moderation_events\`;`);

    this.addSql(`alter table \`users\` drop column \`suspended_until\`;`);
  }

}
