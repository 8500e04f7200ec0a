/** What berth's providers run inside its proxy container (images/proxy): config written, tested, reloaded, confirmed. */

/** berth's config files in the proxy. */
export const BERTH_DIR = "/etc/nginx/berth";

/** Asks the proxy's nginx, on a fresh connection, what it answers at `path` (a marker berth wrote). */
export function fetchScript(path: string): string {
    return `exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`;
}

/**
 * A script that replaces `files` (each written by `write`, which runs with the previous versions kept as
 * `<file>.previous`), has nginx test the result (the previous files put back if it is rejected), reloads
 * gracefully and returns once fresh connections keep being answered `id` at `path`. One writer at a time per
 * proxy: a test must never read a file another provider has half-written.
 */
export function replaceAndReload(files: string[], write: string[], path: string, id: string): string {
    return [
        `exec 9>${BERTH_DIR}/.lock && flock 9`,
        ...files.map((file) => `cp ${file} ${file}.previous`),
        ...write,
        `if ! nginx -t -q; then ${files.map((file) => `mv ${file}.previous ${file}`).join("; ")}; exit 1; fi`,
        "nginx -s reload",
        // Done when fresh connections keep landing on new workers (old ones stop accepting right after the signal).
        `seen=0; for i in $(seq 1 200); do case "$(${fetchScript(path)})" in *${id}*) seen=$((seen + 1)); [ $seen -ge 3 ] && exit 0;; *) seen=0;; esac; sleep 0.05; done`,
        `echo "nginx did not start serving ${path} ${id} within 10s" >&2; exit 1`,
    ].join("\n");
}
