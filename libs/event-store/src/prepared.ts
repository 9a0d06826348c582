/**
 * Statements that start with this comment run as named prepared statements on PostgreSQL: parsed
 * and planned once per connection. For the store's hot statements, whose planning costs as much
 * as their execution (the append CTE runs about twice as fast prepared, measured with pgbench).
 */
export const PREPARED = '/* prepared */';
