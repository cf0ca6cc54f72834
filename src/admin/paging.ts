import { checkPageSize, decodeCursor, encodeCursor } from '../core/cursor';

/** One page of an admin list, newest first. */
export interface AdminPage<T> {
  nodes: T[];
  hasNextPage: boolean;
  endCursor: string | null;
  totalCount: number;
}

/** Where a page starts: after the row at (time, id), in (time desc, id desc) order. */
export interface PageStart {
  at: Date;
  id: string;
}

/** Checks `first` and decodes `after` (BAD_REQUEST for a malformed cursor). */
export function pageStart(first: number, after?: string | null): PageStart | null {
  checkPageSize(first);
  if (!after) return null;
  const c = decodeCursor<{ t: number; id: string }>(after, { t: 'number', id: 'string' });
  return { at: new Date(c.t), id: c.id };
}

/** The filter for rows after `start` on `field` (a datetime column) then id. */
export function afterFilter(field: string, start: PageStart | null): Record<string, unknown> {
  if (!start) return {};
  return { $or: [{ [field]: { $lt: start.at } }, { [field]: start.at, id: { $lt: start.id } }] };
}

/** Rows fetched with `limit: first + 1`, as a page. */
export function toPage<T extends { id: string }>(rows: T[], first: number, timeOf: (row: T) => Date, totalCount: number): AdminPage<T> {
  const nodes = rows.slice(0, first);
  const last = nodes.at(-1);
  return { nodes, hasNextPage: rows.length > first, endCursor: last ? encodeCursor({ t: timeOf(last).getTime(), id: last.id }) : null, totalCount };
}
