/** JSON-schema building blocks shared by the route tables. */
export const str = { type: 'string' } as const;
export const nullableStr = { type: ['string', 'null'] } as const;
export const bool = { type: 'boolean' } as const;
export const int = { type: 'integer' } as const;
