import { sql, type Kysely } from 'kysely';
import { DomainError, type Principal, type PrinterView, type RegisterPrinter } from '@switchyard/contracts';

export interface RegisteredPrinter extends PrinterView {
  orgId: string;
}

interface PrinterRow {
  org_id: string;
  name: string;
  path: string;
  uri: string;
  tags: string[];
  created_at: Date | string;
}

const toPrinter = (row: PrinterRow): RegisteredPrinter => ({
  orgId: row.org_id,
  name: row.name,
  path: row.path,
  uri: row.uri,
  tags: row.tags,
  createdAt: new Date(row.created_at).toISOString(),
});

/**
 * A raw socket printer's path is `tcp_<ip-with-dashes>_<port>` (print-jobs.txt); an IPP printer's
 * is its registered name.
 */
export function printerPathFor(name: string, uri: string): string {
  const socket = /^socket:\/\/([^/:]+):(\d+)\/?$/.exec(uri);
  if (!socket) return name;
  const [, host, port] = socket as unknown as [string, string, string];
  return `tcp_${host.replace(/[.:]/g, '-')}_${port}`;
}

export const TAG_PREFIX = 'tag_';

/** Printers a process keeps found at once; past that it starts over. */
const MAX_KNOWN_PRINTERS = 1_000;

/** The printers an organization registered, and how a print target picks one of them. */
export class PrinterRegistry {
  /**
   * Printers found by path. A printer's row is only ever inserted, never changed or removed, so
   * one found stays right; a path not found is looked up again each time, since another process
   * may register it. (Should printers ever change or go away, this has to go too.)
   */
  private readonly byPath = new Map<string, RegisteredPrinter>();

  constructor(private readonly db: Kysely<unknown>) {}

  async register(principal: Principal, printer: RegisterPrinter): Promise<RegisteredPrinter> {
    if (principal.role === 'member') {
      throw new DomainError('FORBIDDEN', 'only a curator or an admin registers printers');
    }
    if (printer.uri.startsWith('socket://') && !/^socket:\/\/[^/:]+:\d{1,5}\/?$/.test(printer.uri)) {
      throw new DomainError('VALIDATION_FAILED', 'a socket printer is socket://host:port');
    }
    const path = printerPathFor(printer.name, printer.uri);
    const { rows } = await sql<PrinterRow>`
      INSERT INTO printers (org_id, name, path, uri, tags)
      VALUES (${principal.orgId}, ${printer.name}, ${path}, ${printer.uri}, ${JSON.stringify(printer.tags)}::jsonb)
      ON CONFLICT DO NOTHING
      RETURNING org_id, name, path, uri, tags, created_at`.execute(this.db);
    const row = rows[0];
    if (!row) throw new DomainError('PRINTER_ALREADY_EXISTS', `a printer named ${printer.name} or at ${path} exists`);
    return toPrinter(row);
  }

  async list(orgId: string): Promise<RegisteredPrinter[]> {
    const { rows } = await sql<PrinterRow>`
      SELECT org_id, name, path, uri, tags, created_at FROM printers WHERE org_id = ${orgId} ORDER BY name`.execute(this.db);
    return rows.map(toPrinter);
  }

  /**
   * A printer path, or `tag_<TAG>`: the printer of that tag with the fewest unfinished jobs.
   * Nothing but a registered printer of the organization is ever a target.
   */
  async resolve(orgId: string, target: string): Promise<RegisteredPrinter> {
    const byTag = target.startsWith(TAG_PREFIX);
    const key = `${orgId}\n${target}`;
    const known = byTag ? undefined : this.byPath.get(key);
    if (known) return known;
    const { rows } = byTag
      ? await sql<PrinterRow>`
          SELECT p.org_id, p.name, p.path, p.uri, p.tags, p.created_at
          FROM printers p
          WHERE p.org_id = ${orgId} AND p.tags ? ${target.slice(TAG_PREFIX.length)}
          ORDER BY (SELECT count(*) FROM jobs j
                    WHERE j.kind = 'print' AND j.org_id = p.org_id AND j.status IN ('queued', 'running', 'scheduled')
                      AND j.state->'input'->>'printer' = p.path), p.name
          LIMIT 1`.execute(this.db)
      : await sql<PrinterRow>`
          SELECT org_id, name, path, uri, tags, created_at FROM printers
          WHERE org_id = ${orgId} AND path = ${target}`.execute(this.db);
    const row = rows[0];
    if (!row) throw new DomainError('UNKNOWN_TARGET', `no printer or tag ${target} is registered`, { target });
    const printer = toPrinter(row);
    if (!byTag) {
      if (this.byPath.size >= MAX_KNOWN_PRINTERS) this.byPath.clear();
      this.byPath.set(key, printer);
    }
    return printer;
  }
}
