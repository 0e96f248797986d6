/** Parses the `listening on ws://HOST:PORT [token=T]` line the daemon prints on stderr. */
export function parseListeningLine(line) {
    const m = /listening on (wss?:\/\/\S+)(?:\s+token=(\S+))?/.exec(line);
    if (!m || m[1] === undefined)
        return null;
    return { url: m[1], token: m[2] ?? null };
}
