/** Every entity, in one list for MikroORM discovery. */
export const ENTITIES = [] as const;
