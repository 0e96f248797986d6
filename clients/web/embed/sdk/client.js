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
// - every notification is folded into a ThreadStore (`client.threads`) before handlers run.
import { ClientClosedError, ConnectionLostError, RequestTimeoutError, RpcError, } from "./errors.js";
import { notificationSeq, notificationThreadId, ThreadStore } from "./reducer.js";
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
export class AgentdClient {
    /** The folded state of every thread this client has seen. */
    threads = new ThreadStore();
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
    /** `turn/start` with text (or any input). */
    startTurn(threadId, input, params = {}) {
        const items = typeof input === "string" ? [{ type: "text", text: input }] : input;
        return this.request("turn/start", { ...params, threadId, input: items });
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
    /** Server requests on the current connection still waiting for this client's answer. */
    pendingServerRequests() {
        return [...this.serverRequests.values()]
            .filter((e) => !e.done && e.generation === this.generation)
            .map((e) => this.pendingView(e));
    }
    /**
     * Pending `mcpServer/elicitation/request`s (of one thread, if given): tool approvals (see
     * `mcpToolApproval`) and MCP servers' own questions, answered with `elicitationAnswer`.
     */
    pendingElicitations(threadId) {
        return this.pendingServerRequests().filter((r) => r.method === "mcpServer/elicitation/request" && (threadId === undefined || r.params.threadId === threadId));
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
            const resumes = [...this.subscriptions.keys()].map((threadId) => this.resubscribe(gen, threadId));
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
    /** After a reconnect (or a resync): replays what this client missed on one thread. */
    async resubscribe(gen, threadId) {
        const sub = this.subscriptions.get(threadId);
        if (!sub)
            return;
        this.resyncing.add(threadId);
        const params = { threadId, afterSeq: sub.lastSeen, excludeTurns: true };
        try {
            await this.internalRequest(gen, "thread/resume", params, (result) => this.track("thread/resume", params, result));
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
        if (threadId !== null && seq !== null) {
            const sub = this.subscriptions.get(threadId);
            if (sub) {
                if (seq <= sub.lastSeen) {
                    this.stats.duplicatesDropped += 1;
                    return;
                }
                sub.lastSeen = seq;
            }
        }
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
            params: r.params,
            controller: new AbortController(),
            done: false,
        };
        const method = r.method;
        if (!KNOWN_SERVER_REQUESTS.has(method)) {
            this.sendRaw(gen, { id: r.id, error: { code: -32601, message: `unknown method ${method}` } });
            return;
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
