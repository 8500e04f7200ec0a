/**
 * The Pulumi CLI's own PostgreSQL state backend (PULUMI_BACKEND_URL=postgres://…), as berth reads it: one table,
 * `pulumi_state (key text, data json, updated_at)`, a row per file of a self-managed backend (`<db>/.pulumi/stacks/…`,
 * `…/locks/…`, `…/history/…`), each row's `data` being `{"data": "<the file, base64>"}`.
 */
import { Client } from "pg";

export const STATE_TABLE = "pulumi_state";

/** Whether `url` is a Postgres state backend. */
export function isPostgresBackend(url: string | undefined): url is string {
    return /^postgres(ql)?:\/\//.test(url ?? "");
}

/** A backend URL as it may be shown: without its password. */
export function withoutPassword(url: string): string {
    return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/, "$1:***@");
}

/** A row's file: the JSON document its `data` holds (base64), parsed. */
export function rowFile(data: unknown): unknown {
    const encoded = (data as { data?: unknown })?.data;
    if (typeof encoded !== "string") return undefined;
    try {
        return JSON.parse(Buffer.from(encoded, "base64").toString("utf8"));
    } catch {
        return undefined; // not a JSON file (e.g. meta.yaml)
    }
}

/** A connection to the backend's database for `use`, closed after; bounded waits, so a backend gone never hangs. */
export async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
    await client.connect();
    try {
        return await use(client);
    } finally {
        await client.end();
    }
}

/** A LIKE pattern for the keys under `dir` (below any root): `_` and `%` in names are literal. */
export function keysUnder(dir: string): string {
    return `%/${dir.replace(/[\\%_]/g, (c) => `\\${c}`)}%.json`;
}

/** The JSON files under `dir` (a key prefix below the backend's root, e.g. `.pulumi/history/berth/staging/`): name → content. */
export function filesUnder(url: string, dir: string): Promise<Map<string, unknown>> {
    return withClient(url, async (client) => {
        const { rows } = await client.query(`SELECT key, data FROM ${STATE_TABLE} WHERE key LIKE $1`, [keysUnder(dir)]);
        return new Map((rows as { key: string; data: unknown }[]).map((row) => [row.key.split("/").pop()!, rowFile(row.data)]));
    });
}
