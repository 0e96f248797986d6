// The agentd client: JSON-RPC 2.0 over any Transport, typed by the generated protocol bindings.
//
// What it adds over a bare socket (PROTOCOL.md §7–8):
// - every thread the client subscribed to (thread/start, thread/resume, thread/fork) is tracked
//   with the last `seq` seen; a notification with `seq <= lastSeen` is dropped, so a replay that
//   overlaps what was already delivered is never seen twice;
// - when the connection drops, the client reconnects with backoff, initializes again and sends
//   `thread/resume {threadId, afterSeq: lastSeen}` for every subscribed thread, so nothing is lost;
//   `thread/resyncRequired` triggers the same resume for its thread;
// - requests that are safe to repeat (reads, resume, turn/start and turn/steer, which carry a
//   `clientRequestId`) are re-sent after a reconnect; others fail with ConnectionLostError;
// - server requests (approvals) go to handlers registered with `onServerRequest`; a handler's
//   `signal` aborts when another client answered first (`serverRequest/resolved`) or the
//   connection that carried the request is gone (the daemon sends it again after the resume);
// - every notification is folded into a ThreadStore (`client.threads`) before handlers run;
// - sub-agents: the daemon subscribes a connection following a thread to each child it spawns
//   (its `thread/started` and then its events, under the child's own id). The client keeps each
//   child's state apart (`threads`), places it under its parent (`tree`) and follows it like a
//   thread it subscribed to itself, so a reconnect replays what it missed of the child too.
import { ClientClosedError, ConnectionLostError, RequestTimeoutError, RpcError, } from "./errors.js";
import { notificationSeq, notificationThreadId, parentThreadId, ThreadStore, ThreadTree, } from "./reducer.js";
/**
 * The server requests this client answers. Anything else is answered -32601 at once, so a
 * daemon newer than the SDK never waits on a question nobody can see.
 */
const KNOWN_SERVER_REQUESTS = new Set([
    "item/commandExecution/requestApproval",
    "item/fileChange/requestApproval",
    "mcpServer/elicitation/request",
]);
/** Methods whose repetition after a lost answer does no harm. */
const RETRY_SAFE = new Set([
    "thread/resume",
    "thread/read",
    "thread/list",
    "thread/search",
    "thread/unsubscribe",
    "model/list",
    "config/read",
    "account/read",
    "configRequirements/read",
    "mcpServerStatus/list",
    // Made idempotent by the clientRequestId the client always sets.
    "turn/start",
    "turn/steer",
]);
const SDK_VERSION = "0.1.0";
function randomId() {
    const c = globalThis.crypto;
    if (c?.randomUUID)
        return c.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}
function isObject(v) {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}
// ---------------------------------------------------------------------------------------------
// `mcpServer/elicitation/request`: the one server request that carries two kinds of question.
//
// agentd asks before running an MCP tool with a form whose only field is an optional boolean
// `remember`, and puts the call in `_meta["agentd/toolApproval"]`; an MCP server's own question
// during a call is a form of arbitrary primitive fields (or a URL to open). A UI needs to tell the
// two apart and answer each in its own shape, so these helpers read the params defensively (they
// come from the daemon and, for `_meta` and the schema, from third-party servers) and build typed
// answers, so no client spells `{action: "accept", content: {remember: true}}` by hand. (They
// live here rather than in a module of their own so the browser bundle the daemon embeds keeps
// its list of files.)
/** The `_meta` key under which agentd describes the tool call it asks about. */
export const TOOL_APPROVAL_META = "agentd/toolApproval";
/**
 * The tool call an elicitation asks approval for, or null when it is a server's own question
 * (no `_meta["agentd/toolApproval"]`, or one without a server and tool name).
 */
export function mcpToolApproval(params) {
    const meta = params._meta;
    if (!isObject(meta))
        return null;
    const a = meta[TOOL_APPROVAL_META];
    if (!isObject(a) || typeof a.server !== "string" || typeof a.tool !== "string")
        return null;
    return {
        server: a.server,
        tool: a.tool,
        arguments: (a.arguments ?? {}),
        itemId: typeof a.itemId === "string" ? a.itemId : null,
    };
}
/**
 * The fields of a form elicitation, in the schema's order; empty for a URL elicitation. Fields
 * whose schema is not a primitive type are left out (a form cannot answer them).
 */
export function elicitationFields(params) {
    if (params.mode !== "form" || !isObject(params.requestedSchema) || !isObject(params.requestedSchema.properties))
        return [];
    const required = new Set(Array.isArray(params.requestedSchema.required) ? params.requestedSchema.required : []);
    const fields = [];
    for (const [name, schema] of Object.entries(params.requestedSchema.properties)) {
        if (!isObject(schema))
            continue;
        const enumValues = Array.isArray(schema.enum) ? schema.enum.filter((v) => typeof v === "string") : null;
        const type = schema.type;
        if (type !== "string" && type !== "number" && type !== "integer" && type !== "boolean")
            continue;
        const d = schema.default;
        const defaultValue = (type === "boolean" && typeof d === "boolean") ||
            ((type === "number" || type === "integer") && typeof d === "number") ||
            (type === "string" && typeof d === "string")
            ? d
            : null;
        fields.push({
            name,
            type,
            title: typeof schema.title === "string" ? schema.title : null,
            description: typeof schema.description === "string" ? schema.description : null,
            required: required.has(name),
            options: enumValues && enumValues.length > 0 ? enumValues : null,
            defaultValue,
        });
    }
    return fields;
}
/**
 * Turns what a person typed (strings, as form inputs give them; booleans for checkboxes) into
 * the values the schema asks for. Empty optional fields are left out. Returns the content, or the
 * first problem in words (a required field left empty, a number that is not one, a value not
 * among an enum's options).
 */
export function elicitationContent(fields, input) {
    const content = {};
    for (const f of fields) {
        const raw = input[f.name];
        const label = f.title ?? f.name;
        if (f.type === "boolean") {
            if (typeof raw === "boolean")
                content[f.name] = raw;
            else if (raw === "true" || raw === "false")
                content[f.name] = raw === "true";
            else if (f.required)
                return { error: `${label} is required` };
            continue;
        }
        const text = typeof raw === "string" ? raw.trim() : "";
        if (text === "") {
            if (f.required)
                return { error: `${label} is required` };
            continue;
        }
        if (f.type === "string") {
            if (f.options && !f.options.includes(text))
                return { error: `${label} must be one of ${f.options.join(", ")}` };
            content[f.name] = text;
            continue;
        }
        const n = Number(text);
        if (!Number.isFinite(n) || (f.type === "integer" && !Number.isInteger(n))) {
            return { error: `${label} must be ${f.type === "integer" ? "a whole number" : "a number"}` };
        }
        content[f.name] = n;
    }
    return { content };
}
/**
 * Typed answers to `mcpServer/elicitation/request`. For a tool approval: `approve` runs the call
 * once, `approveForSession` also stops the thread asking about that tool again, `decline` refuses
 * it (the model is told), `cancel` interrupts the turn. For a server's own form: `submit` with
 * the values, or `decline` / `cancel`.
 */
export const elicitationAnswer = {
    approve: () => ({ action: "accept" }),
    approveForSession: () => ({ action: "accept", content: { remember: true } }),
    decline: () => ({ action: "decline" }),
    cancel: () => ({ action: "cancel" }),
    submit: (content) => ({ action: "accept", content }),
};
/**
 * Pieces of turn input (`turn/start`, `turn/steer`), e.g.
 * `client.startTurn(id, ["What is wrong here?", userInput.localImage("/home/me/shot.png")])`.
 */
export const userInput = {
    text: (text) => ({ type: "text", text }),
    /**
     * An image by URL: `https:`/`http:` (the model fetches it), or a base64 `data:` URL of a PNG,
     * JPEG, GIF or WebP image ({@link imageDataUrl} makes one from bytes).
     */
    image: (url) => ({ type: "image", url }),
    /**
     * An image file on the daemon's machine, by absolute path: the daemon reads it (PNG, JPEG, GIF
     * or WebP by its first bytes, at most 20 MB) and refuses the turn, naming the input, if it
     * cannot. For a file on the client's machine use `imageFileInput` (Node) or
     * {@link imageDataUrl}.
     */
    localImage: (path) => ({ type: "localImage", path }),
};
/** The image types the daemon takes, by the first bytes of the file (as the daemon checks them). */
const IMAGE_MAGIC = [
    ["image/png", [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
    ["image/jpeg", [0xff, 0xd8, 0xff]],
    ["image/gif", [0x47, 0x49, 0x46, 0x38]],
    ["image/webp", [0x52, 0x49, 0x46, 0x46]],
];
/** The image type the bytes start with (PNG, JPEG, GIF, WebP), or null. */
export function sniffImageType(bytes) {
    for (const [mime, magic] of IMAGE_MAGIC) {
        if (magic.every((b, i) => bytes[i] === b))
            return mime;
    }
    return null;
}
/**
 * A `data:` URL of image bytes for {@link userInput.image}. The type comes from the bytes (what
 * the daemon checks); bytes of another kind throw a `TypeError` rather than make a turn the
 * daemon refuses. Works in browsers and in Node (`btoa`).
 */
export function imageDataUrl(bytes) {
    const mime = sniffImageType(bytes);
    if (mime === null)
        throw new TypeError("not a PNG, JPEG, GIF or WebP image");
    // btoa takes a binary string; built in slices so a large image does not overflow the stack.
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
        binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return `data:${mime};base64,${btoa(binary)}`;
}
/**
 * What a server request asks about, as `thread/item` (`null` when it names no item, e.g. an MCP
 * server's own question): two requests with the same key are the same question asked twice.
 */
function requestItemKey(r) {
    if (!isObject(r.params) || typeof r.params.threadId !== "string")
        return null;
    let item = r.params.itemId;
    if (r.method === "mcpServer/elicitation/request") {
        const meta = r.params._meta;
        const approval = isObject(meta) ? meta[TOOL_APPROVAL_META] : undefined;
        item = isObject(approval) ? approval.itemId : undefined;
    }
    return typeof item === "string" ? `${r.method} ${r.params.threadId}/${item}` : null;
}
export class AgentdClient {
    /** The folded state of every thread this client has seen. */
    threads = new ThreadStore();
    /**
     * Every thread this client has seen listed, snapshotted or announced, sub-agents under their
     * parents (`childrenOf`, `nickname`, …).
     */
    tree = new ThreadTree();
    stats = { reconnects: 0, duplicatesDropped: 0, resyncs: 0 };
    connector;
    options;
    log;
    state = "idle";
    transport = null;
    generation = 0;
    nextId = 1;
    everConnected = false;
    closedByUser = false;
    reconnectLoop = null;
    connecting = null;
    initializeResult = null;
    pending = new Map();
    queue = [];
    subscriptions = new Map();
    resyncing = new Set();
    serverRequests = new Map();
    notificationHandlers = new Map();
    anyHandlers = new Set();
    requestHandlers = new Map();
    serverRequestListeners = new Set();
    stateListeners = new Set();
    constructor(connector, options = {}) {
        this.connector = connector;
        this.options = options;
        this.log = options.log ?? ((m, d) => console.warn(`[agentd-client] ${m}`, d ?? ""));
    }
    /** Creates a client and connects it. */
    static async connect(connector, options = {}) {
        const client = new AgentdClient(connector, options);
        await client.connect();
        return client;
    }
    get connectionState() {
        return this.state;
    }
    /** The daemon's `initialize` answer on the current (or last) connection. */
    get serverInfo() {
        return this.initializeResult;
    }
    /** Opens the first connection and initializes it. */
    connect() {
        if (this.state === "closed")
            return Promise.reject(new ClientClosedError("connect() after close()"));
        if (this.state === "open" && this.initializeResult)
            return Promise.resolve(this.initializeResult);
        if (this.connecting)
            return this.connecting;
        this.setState("connecting");
        this.connecting = this.openOnce().then((init) => {
            this.connecting = null;
            return init;
        }, (e) => {
            this.connecting = null;
            if (!this.everConnected && !this.closedByUser)
                this.setState("idle", String(e));
            throw e;
        });
        return this.connecting;
    }
    /** Closes the connection for good; pending and queued requests fail with ClientClosedError. */
    async close() {
        if (this.state === "closed")
            return;
        this.closedByUser = true;
        const t = this.transport;
        const closed = new Promise((resolve) => {
            if (!t)
                return resolve();
            const prev = t.onClose;
            const timer = setTimeout(resolve, 1000);
            t.onClose = (reason) => {
                clearTimeout(timer);
                prev(reason);
                resolve();
            };
        });
        t?.close();
        await closed;
        this.shutDown("closed by the client");
    }
    /**
     * Drops the current connection abruptly, as a network failure would; the client then
     * reconnects and resumes its threads. For tests and demos.
     */
    debugDropConnection() {
        this.transport?.abort();
    }
    // ---------------------------------------------------------------------------------------------
    // Requests
    /** Sends a request and resolves with its typed result (rejects with RpcError on an error). */
    request(method, params, options = {}) {
        if (this.state === "closed")
            return Promise.reject(new ClientClosedError(`${method} after close`));
        if (this.state === "idle")
            return Promise.reject(new Error(`${method}: call connect() first`));
        let sent = params;
        if ((method === "turn/start" || method === "turn/steer") && params.clientRequestId == null) {
            // Makes the request safe to repeat after a lost answer (PROTOCOL.md §5).
            sent = { ...params, clientRequestId: randomId() };
        }
        return new Promise((resolve, reject) => {
            const call = {
                id: 0,
                method,
                params: sent,
                retry: RETRY_SAFE.has(method),
                timeoutMs: options.timeoutMs ?? this.options.requestTimeoutMs,
                timer: undefined,
                generation: null,
                resolve: resolve,
                reject,
                onResult: (result) => this.track(method, sent, result),
            };
            if (call.timeoutMs !== undefined) {
                call.timer = setTimeout(() => {
                    this.pending.delete(call.id);
                    this.queue = this.queue.filter((c) => c !== call);
                    reject(new RequestTimeoutError(method, call.timeoutMs ?? 0));
                }, call.timeoutMs);
            }
            if (this.state === "open")
                this.sendCall(call);
            else
                this.queue.push(call);
        });
    }
    /** Sends a notification (e.g. `initialized`, sent by the client itself). */
    notify(method, params) {
        const msg = { jsonrpc: "2.0", method };
        if (params !== undefined)
            msg.params = params;
        this.transport?.send(JSON.stringify(msg));
    }
    // ---------------------------------------------------------------------------------------------
    // Conveniences
    /** `thread/start`; the client is then subscribed to the new thread. */
    startThread(params = {}) {
        return this.request("thread/start", params);
    }
    /** `thread/resume` with its turns; the client is then subscribed and `threads` holds its state. */
    resumeThread(threadId, params = {}) {
        return this.request("thread/resume", { ...params, threadId });
    }
    /**
     * `turn/start` with text, or with a list of inputs in which a string is a text input (images:
     * {@link userInput}).
     */
    startTurn(threadId, input, params = {}) {
        const items = (typeof input === "string" ? [input] : input).map((i) => typeof i === "string" ? userInput.text(i) : i);
        return this.request("turn/start", { ...params, threadId, input: items });
    }
    /**
     * A thread's sub-agents, oldest first: the open ones (`thread/list {parentThreadId}`), and the
     * closed (archived) ones too with `closed`. Every page is read; the tree learns them.
     */
    async listChildren(parentId, opts = {}) {
        const out = [];
        for (const archived of opts.closed ? [false, true] : [false]) {
            let cursor = null;
            do {
                const page = await this.request("thread/list", {
                    parentThreadId: parentId,
                    archived,
                    limit: 100,
                    cursor,
                });
                out.push(...page.data);
                cursor = page.nextCursor;
            } while (cursor !== null);
        }
        return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    /**
     * Resumes every open sub-agent of a thread, and theirs (`recursive`, the default), with their
     * turns: what a client that resumed the parent needs to show the children whole, since the
     * daemon then only follows them live from that moment. Resolves with the children resumed.
     */
    async resumeChildren(parentId, opts = {}) {
        const resumed = [];
        const seen = new Set([parentId]);
        const walk = async (id) => {
            const children = (await this.listChildren(id)).filter((c) => !seen.has(c.id));
            for (const c of children)
                seen.add(c.id);
            const results = await Promise.all(children.map((c) => this.resumeThread(c.id)));
            resumed.push(...results.map((r) => r.thread));
            if (opts.recursive ?? true)
                await Promise.all(children.map((c) => walk(c.id)));
        };
        await walk(parentId);
        return resumed;
    }
    /** `mcpServerStatus/list`: the configured MCP servers, their tools and how they are doing. */
    listMcpServerStatus(params = {}) {
        return this.request("mcpServerStatus/list", params);
    }
    /**
     * `config/mcpServer/reload`: restarts the MCP servers from the config file. It answers at once;
     * `mcpServer/startupStatus/updated` then tells how each server starts.
     */
    reloadMcpServers() {
        return this.request("config/mcpServer/reload", {});
    }
    /** Resolves with the folded turn once its `turn/completed` has been seen. */
    waitForTurn(threadId, turnId, timeoutMs) {
        const ended = () => {
            const t = this.threads.get(threadId)?.turns.find((x) => x.id === turnId);
            return t && t.status !== "inProgress" ? t : undefined;
        };
        const now = ended();
        if (now)
            return Promise.resolve(now);
        return new Promise((resolve, reject) => {
            let timer;
            const off = this.threads.subscribe((thread) => {
                if (thread.id !== threadId)
                    return;
                const t = ended();
                if (t) {
                    off();
                    if (timer)
                        clearTimeout(timer);
                    resolve(t);
                }
            });
            if (timeoutMs !== undefined) {
                timer = setTimeout(() => {
                    off();
                    reject(new Error(`turn ${turnId} did not complete within ${timeoutMs} ms`));
                }, timeoutMs);
            }
        });
    }
    /** Starts a turn and resolves with it once completed (or interrupted / failed). */
    async runTurn(threadId, input, params = {}, timeoutMs) {
        const { turn } = await this.startTurn(threadId, input, params);
        return this.waitForTurn(threadId, turn.id, timeoutMs);
    }
    /** Resolves with the params of the next notification of `method` that passes `filter`. */
    waitFor(method, filter = () => true, timeoutMs) {
        return new Promise((resolve, reject) => {
            let timer;
            const off = this.on(method, (params) => {
                if (!filter(params))
                    return;
                off();
                if (timer)
                    clearTimeout(timer);
                resolve(params);
            });
            if (timeoutMs !== undefined) {
                timer = setTimeout(() => {
                    off();
                    reject(new Error(`no ${method} within ${timeoutMs} ms`));
                }, timeoutMs);
            }
        });
    }
    /** The threads this client is subscribed to, with the last `seq` seen on each. */
    subscribedThreads() {
        return [...this.subscriptions].map(([threadId, s]) => ({ threadId, lastSeq: s.lastSeen }));
    }
    /** The last `seq` delivered for a subscribed thread (undefined if not subscribed). */
    lastSeq(threadId) {
        return this.subscriptions.get(threadId)?.lastSeen;
    }
    /** The folded state of a thread. */
    thread(threadId) {
        return this.threads.get(threadId);
    }
    on(method, handler) {
        if (method === "*") {
            const h = handler;
            this.anyHandlers.add(h);
            return () => this.anyHandlers.delete(h);
        }
        let set = this.notificationHandlers.get(method);
        if (!set) {
            set = new Set();
            this.notificationHandlers.set(method, set);
        }
        const h = handler;
        set.add(h);
        return () => set.delete(h);
    }
    /**
     * Answers server requests of `method` (one handler per method; a new one replaces the old).
     * Without a handler a request stays pending: see `onServerRequestPending` and `respond`.
     */
    onServerRequest(method, handler) {
        this.requestHandlers.set(method, handler);
        return () => {
            if (this.requestHandlers.get(method) === handler)
                this.requestHandlers.delete(method);
        };
    }
    /** Told of every server request as it arrives (whether or not a handler answers it). */
    onServerRequestPending(listener) {
        this.serverRequestListeners.add(listener);
        return () => this.serverRequestListeners.delete(listener);
    }
    /**
     * Server requests on the current connection still waiting for this client's answer: all of
     * them, or those of one thread (and, with `descendants`, of its sub-agents, however deep).
     */
    pendingServerRequests(threadId, opts = {}) {
        return [...this.serverRequests.values()]
            .filter((e) => !e.done && e.generation === this.generation)
            .filter((e) => threadId === undefined ||
            e.threadId === threadId ||
            (opts.descendants === true && this.tree.isWithin(e.threadId, threadId)))
            .map((e) => this.pendingView(e));
    }
    /**
     * Pending `mcpServer/elicitation/request`s (of one thread, if given): tool approvals (see
     * `mcpToolApproval`) and MCP servers' own questions, answered with `elicitationAnswer`.
     */
    pendingElicitations(threadId) {
        return this.pendingServerRequests(threadId).filter((r) => r.method === "mcpServer/elicitation/request");
    }
    /** Told when the connection state changes. */
    onConnectionState(listener) {
        this.stateListeners.add(listener);
        return () => this.stateListeners.delete(listener);
    }
    // ---------------------------------------------------------------------------------------------
    // Connection lifecycle
    setState(s, detail) {
        if (this.state === s)
            return;
        this.state = s;
        for (const l of this.stateListeners) {
            try {
                l(s, detail);
            }
            catch (e) {
                this.log("connection-state listener threw", e);
            }
        }
    }
    /** Opens one transport, initializes it, resumes every subscribed thread, flushes the queue. */
    async openOnce() {
        const transport = await this.connector();
        if (this.closedByUser) {
            transport.close();
            throw new ClientClosedError("closed while connecting");
        }
        const gen = ++this.generation;
        this.transport = transport;
        transport.onMessage = (text) => this.onText(gen, text);
        transport.onClose = (reason) => this.onTransportClose(gen, reason);
        try {
            const init = (await this.internalRequest(gen, "initialize", {
                clientInfo: this.options.clientInfo ?? { name: "agentd-ts", title: "@agentd/client", version: SDK_VERSION },
                capabilities: this.options.capabilities ?? null,
            }));
            this.notify("initialized");
            this.initializeResult = init;
            // Resumes go out before anything queued, so replays come first.
            const resumes = this.resubscribeAll(gen);
            this.everConnected = true;
            this.setState("open");
            const queued = this.queue;
            this.queue = [];
            for (const call of queued)
                this.sendCall(call);
            await Promise.all(resumes);
            return init;
        }
        catch (e) {
            if (this.transport === transport)
                transport.abort();
            throw e;
        }
    }
    onTransportClose(gen, reason) {
        if (gen !== this.generation)
            return;
        this.transport = null;
        // Answers on this connection will never come.
        for (const call of [...this.pending.values()]) {
            if (call.generation !== gen)
                continue;
            this.pending.delete(call.id);
            if (call.retry && !this.closedByUser) {
                call.generation = null;
                this.queue.push(call);
            }
            else {
                this.finishCall(call);
                call.reject(this.closedByUser ? new ClientClosedError(reason) : new ConnectionLostError(call.method));
            }
        }
        // Its server requests are void: the daemon asks again on the next connection.
        for (const [key, entry] of this.serverRequests) {
            if (entry.generation === gen) {
                entry.done = true;
                entry.controller.abort(new ConnectionLostError(entry.method));
                this.serverRequests.delete(key);
            }
        }
        this.resyncing.clear();
        if (this.closedByUser) {
            this.shutDown(reason);
            return;
        }
        if (!this.everConnected || this.options.reconnect === false) {
            if (this.everConnected)
                this.shutDown(`connection lost: ${reason}`);
            return;
        }
        this.setState("reconnecting", reason);
        this.startReconnecting();
    }
    startReconnecting() {
        if (this.reconnectLoop)
            return;
        const opts = typeof this.options.reconnect === "object" ? this.options.reconnect : {};
        const initial = opts.initialDelayMs ?? 100;
        const max = opts.maxDelayMs ?? 5000;
        this.reconnectLoop = (async () => {
            let attempt = 0;
            while (!this.closedByUser) {
                const delay = Math.min(max, initial * 2 ** attempt) * (0.5 + Math.random() / 2);
                await new Promise((r) => setTimeout(r, attempt === 0 ? Math.min(delay, initial) : delay));
                if (this.closedByUser)
                    return;
                try {
                    await this.openOnce();
                    this.stats.reconnects += 1;
                    return;
                }
                catch (e) {
                    attempt += 1;
                    this.log(`reconnect attempt ${attempt} failed`, e instanceof Error ? e.message : e);
                    if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) {
                        this.shutDown(`gave up reconnecting after ${attempt} attempts`);
                        return;
                    }
                    if (this.state !== "reconnecting" && !this.closedByUser)
                        this.setState("reconnecting");
                }
            }
        })().finally(() => {
            this.reconnectLoop = null;
        });
    }
    shutDown(reason) {
        this.closedByUser = true;
        this.transport = null;
        for (const call of [...this.pending.values(), ...this.queue]) {
            this.finishCall(call);
            call.reject(new ClientClosedError(reason));
        }
        this.pending.clear();
        this.queue = [];
        for (const entry of this.serverRequests.values())
            entry.controller.abort(new ClientClosedError(reason));
        this.serverRequests.clear();
        this.setState("closed", reason);
    }
    // ---------------------------------------------------------------------------------------------
    // Sending
    sendCall(call) {
        const t = this.transport;
        if (!t || this.state !== "open") {
            this.queue.push(call);
            return;
        }
        call.id = this.nextId++;
        call.generation = this.generation;
        this.pending.set(call.id, call);
        try {
            t.send(JSON.stringify({ jsonrpc: "2.0", id: call.id, method: call.method, params: call.params }));
        }
        catch (e) {
            // The close callback requeues or fails it.
            this.log(`send of ${call.method} failed`, e);
        }
    }
    /** A request on a specific connection, outside the queue (handshake and resumes). */
    internalRequest(gen, method, params, onResult) {
        return new Promise((resolve, reject) => {
            const t = this.transport;
            if (!t || gen !== this.generation) {
                reject(new ConnectionLostError(method));
                return;
            }
            const call = {
                id: this.nextId++,
                method,
                params,
                retry: false,
                timeoutMs: undefined,
                timer: undefined,
                generation: gen,
                resolve,
                reject,
            };
            if (onResult)
                call.onResult = onResult;
            this.pending.set(call.id, call);
            t.send(JSON.stringify({ jsonrpc: "2.0", id: call.id, method, params }));
        });
    }
    finishCall(call) {
        if (call.timer)
            clearTimeout(call.timer);
        call.timer = undefined;
    }
    sendRaw(gen, msg) {
        if (gen !== this.generation || !this.transport)
            return;
        this.transport.send(JSON.stringify({ jsonrpc: "2.0", ...msg }));
    }
    // ---------------------------------------------------------------------------------------------
    // Subscriptions and replay
    /** Bookkeeping for results that subscribe, run before anything after the answer is handled. */
    track(method, params, result) {
        if (!isObject(result))
            return;
        const thread = result.thread;
        this.learnThreads(method, result);
        switch (method) {
            case "thread/start":
            case "thread/fork": {
                if (!thread)
                    return;
                // The daemon replays the thread's log from seq 0 right after this answer.
                if (!this.subscriptions.has(thread.id))
                    this.subscriptions.set(thread.id, { lastSeen: 0 });
                this.threads.load(thread);
                return;
            }
            case "thread/resume": {
                if (!thread)
                    return;
                const p = params;
                const existing = this.subscriptions.get(thread.id);
                const afterSeq = typeof p.afterSeq === "number" ? p.afterSeq : null;
                const excluded = p.excludeTurns === true;
                if (afterSeq === null) {
                    // Live from the thread's head on; the answer holds everything before.
                    this.subscriptions.set(thread.id, { lastSeen: Math.max(existing?.lastSeen ?? 0, thread.lastSeq) });
                    this.threads.load(thread, excluded ? { metadataOnly: true, lastSeq: thread.lastSeq } : {});
                }
                else {
                    // A replay of every event after afterSeq follows.
                    this.subscriptions.set(thread.id, { lastSeen: existing?.lastSeen ?? afterSeq });
                    const known = this.threads.get(thread.id);
                    if (excluded)
                        this.threads.load(thread, { metadataOnly: true, lastSeq: known?.lastSeq ?? afterSeq });
                    else
                        this.threads.load(thread);
                }
                return;
            }
            case "thread/unsubscribe":
                this.subscriptions.delete(params.threadId);
                return;
            default:
                return;
        }
    }
    /** Feeds the tree from any result that lists or snapshots threads. */
    learnThreads(method, result) {
        switch (method) {
            case "thread/start":
            case "thread/fork":
            case "thread/resume":
            case "thread/read": {
                const r = result;
                if (!isObject(r.thread))
                    return;
                this.tree.upsert(r.thread);
                if (Array.isArray(r.childThreadIds))
                    this.tree.noteChildren(r.thread.id, r.childThreadIds);
                return;
            }
            case "thread/list": {
                const r = result;
                if (Array.isArray(r.data))
                    this.tree.upsert(...r.data);
                return;
            }
            case "thread/search": {
                const r = result;
                if (Array.isArray(r.data))
                    this.tree.upsert(...r.data.map((h) => h.thread));
                return;
            }
            default:
                return;
        }
    }
    /**
     * After a reconnect: resumes every followed thread, each sub-agent only once its parent's
     * resume has been answered. Resuming a parent makes the daemon follow its children live from
     * that moment; the child's own resume (after the last `seq` seen) then restarts its stream
     * from there, so it must come second. Until then a child's events are dropped (every
     * followed thread is marked resyncing at once): its replay brings them again, in order.
     */
    resubscribeAll(gen) {
        const ids = [...this.subscriptions.keys()];
        for (const id of ids)
            this.resyncing.add(id);
        const started = new Map();
        const start = (id, path) => {
            const known = started.get(id);
            if (known)
                return known;
            const parent = this.tree.parentOf(id);
            const first = parent !== null && this.subscriptions.has(parent) && !path.has(parent)
                ? start(parent, new Set(path).add(id))
                : Promise.resolve();
            const p = first.then(() => this.resubscribe(gen, id));
            started.set(id, p);
            return p;
        };
        return ids.map((id) => start(id, new Set([id])));
    }
    /** After a reconnect (or a resync): replays what this client missed on one thread. */
    async resubscribe(gen, threadId) {
        const sub = this.subscriptions.get(threadId);
        if (!sub) {
            this.resyncing.delete(threadId);
            return;
        }
        this.resyncing.add(threadId);
        const params = { threadId, afterSeq: sub.lastSeen, excludeTurns: true };
        try {
            await this.internalRequest(gen, "thread/resume", params, (result) => {
                this.track("thread/resume", params, result);
                // At once, not when the promise settles: the replay may follow in the same read, and
                // while the thread counts as resyncing its events are dropped.
                if (gen === this.generation)
                    this.resyncing.delete(threadId);
            });
        }
        catch (e) {
            if (e instanceof RpcError) {
                // The thread is gone (or no longer ours): stop following it.
                this.log(`resuming thread ${threadId} failed; unsubscribed`, e.message);
                this.subscriptions.delete(threadId);
            }
        }
        finally {
            if (gen === this.generation)
                this.resyncing.delete(threadId);
        }
    }
    // ---------------------------------------------------------------------------------------------
    // Receiving
    onText(gen, text) {
        if (gen !== this.generation)
            return;
        let msg;
        try {
            msg = JSON.parse(text);
        }
        catch {
            this.log("dropping a message that is not JSON", text.slice(0, 200));
            return;
        }
        const messages = Array.isArray(msg) ? msg : [msg];
        for (const m of messages) {
            if (!isObject(m))
                continue;
            try {
                this.onMessage(gen, m);
            }
            catch (e) {
                this.log("handling a message threw", e);
            }
        }
    }
    onMessage(gen, m) {
        const hasId = "id" in m && m.id !== undefined;
        if (typeof m.method === "string") {
            if (hasId)
                this.onServerRequestMessage(gen, m);
            else
                this.onNotification(m);
            return;
        }
        if (!hasId)
            return;
        const call = typeof m.id === "number" ? this.pending.get(m.id) : undefined;
        if (!call) {
            if (m.error)
                this.log("error answer to no pending request", m.error);
            return;
        }
        this.pending.delete(call.id);
        this.finishCall(call);
        if (isObject(m.error)) {
            const err = m.error;
            call.reject(new RpcError(call.method, err.code ?? 0, err.message ?? "error", err.data));
            return;
        }
        try {
            call.onResult?.(m.result);
        }
        catch (e) {
            this.log(`bookkeeping for ${call.method} threw`, e);
        }
        call.resolve(m.result);
    }
    onNotification(n) {
        const threadId = notificationThreadId(n);
        if (n.method === "thread/resyncRequired") {
            if (threadId !== null && this.subscriptions.has(threadId) && !this.resyncing.has(threadId)) {
                this.stats.resyncs += 1;
                void this.resubscribe(this.generation, threadId);
            }
            this.dispatch(n);
            return;
        }
        const seq = notificationSeq(n);
        if (n.method === "thread/started" && threadId !== null && !this.subscriptions.has(threadId)) {
            // A sub-agent of a thread this client follows: the daemon subscribed this connection to
            // it from its first event. Followed like any subscribed thread (replayed on reconnect).
            const parent = parentThreadId(n.params.thread);
            if (parent !== null && this.subscriptions.has(parent))
                this.subscriptions.set(threadId, { lastSeen: 0 });
        }
        if (threadId !== null && seq !== null) {
            const sub = this.subscriptions.get(threadId);
            if (sub) {
                // A resume after `lastSeen` is on its way: the daemon restarts the thread's stream there
                // once it answers, so anything before that answer comes again (a sub-agent's live
                // events, which resuming its parent started, would otherwise jump ahead of its replay).
                if (this.resyncing.has(threadId))
                    return;
                if (seq <= sub.lastSeen) {
                    this.stats.duplicatesDropped += 1;
                    return;
                }
                sub.lastSeen = seq;
            }
        }
        // A deleted thread has nothing left to follow (nor to resume after a reconnect).
        if (n.method === "thread/deleted" && threadId !== null)
            this.subscriptions.delete(threadId);
        if (n.method === "serverRequest/resolved") {
            const key = `${this.generation}:${JSON.stringify(n.params.requestId)}`;
            const entry = this.serverRequests.get(key);
            if (entry) {
                entry.done = true;
                entry.controller.abort(new Error(`resolved by ${n.params.resolvedBy.clientName}: ${n.params.decision}`));
                this.serverRequests.delete(key);
            }
        }
        this.threads.apply(n);
        this.tree.apply(n);
        this.dispatch(n);
    }
    dispatch(n) {
        const set = this.notificationHandlers.get(n.method);
        if (set) {
            for (const h of [...set]) {
                try {
                    h(n.params, n);
                }
                catch (e) {
                    this.log(`handler for ${n.method} threw`, e);
                }
            }
        }
        for (const h of [...this.anyHandlers]) {
            try {
                h(n);
            }
            catch (e) {
                this.log("notification handler threw", e);
            }
        }
    }
    pendingView(entry) {
        const view = {
            id: entry.id,
            method: entry.method,
            threadId: entry.threadId,
            params: entry.params,
            signal: entry.controller.signal,
            respond: (result) => this.answer(entry, { result }),
        };
        // The entry's method and params came in together in one `ServerRequest`.
        return view;
    }
    answer(entry, body) {
        if (entry.done)
            return;
        entry.done = true;
        this.serverRequests.delete(`${entry.generation}:${JSON.stringify(entry.id)}`);
        this.sendRaw(entry.generation, { id: entry.id, ...body });
    }
    onServerRequestMessage(gen, r) {
        const entry = {
            generation: gen,
            id: r.id,
            method: r.method,
            // Every request the client answers names its thread; read defensively all the same.
            threadId: isObject(r.params) && typeof r.params.threadId === "string" ? r.params.threadId : "",
            params: r.params,
            controller: new AbortController(),
            done: false,
        };
        const method = r.method;
        if (!KNOWN_SERVER_REQUESTS.has(method)) {
            this.sendRaw(gen, { id: r.id, error: { code: -32601, message: `unknown method ${method}` } });
            return;
        }
        // The daemon asks again, under a new id, each time this connection subscribes to the
        // thread anew (resuming a sub-agent whose question came through its parent, say), and
        // tells only the newest id when it is resolved: the older request is void.
        const item = requestItemKey(r);
        if (item !== null) {
            for (const [key, old] of this.serverRequests) {
                if (old.generation !== gen || old.done || requestItemKey(old) !== item)
                    continue;
                old.done = true;
                this.serverRequests.delete(key);
                old.controller.abort(new Error("asked again under a new request id"));
            }
        }
        this.serverRequests.set(`${gen}:${JSON.stringify(r.id)}`, entry);
        const view = this.pendingView(entry);
        for (const l of this.serverRequestListeners) {
            try {
                l(view);
            }
            catch (e) {
                this.log("server-request listener threw", e);
            }
        }
        const handler = this.requestHandlers.get(r.method);
        if (!handler)
            return;
        let out;
        try {
            out = handler(r.params, { id: r.id, method: r.method, signal: entry.controller.signal });
        }
        catch (e) {
            this.answer(entry, { error: { code: -32603, message: e instanceof Error ? e.message : String(e) } });
            return;
        }
        Promise.resolve(out).then((result) => this.answer(entry, { result }), (e) => {
            if (entry.controller.signal.aborted)
                return;
            this.answer(entry, { error: { code: -32603, message: e instanceof Error ? e.message : String(e) } });
        });
    }
}
