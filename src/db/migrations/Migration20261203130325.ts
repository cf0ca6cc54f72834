import { Migration } from '@mikro-orm/migrations';

export class Migration20261203130325 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`messages\` add index \`messages_status_created_at_index\`(\`status\`, \`created_at\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`messages\` drop index \`messages_status_created_at_index\`;`);
  }

}
