/**
 * A recording stand-in for the Dagger engine's GraphQL endpoint.
 *
 * The SDK's `connection()` (and so the global `dag`) connects to an existing
 * session when DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN are set: it POSTs
 * `{ query }` JSON to `http://127.0.0.1:<port>/query` with
 * `Authorization: Basic base64("<token>:")` (common/graphql/connect.js, client.js).
 * Each query is one linear chain built by the SDK (common/graphql/compute_query.js):
 * object arguments are first resolved to IDs by separate `{ ... { id } }` queries,
 * IDs are loaded back through `node(id: "...") { ... on Type { ... } }`, enums are
 * sent as bare GraphQL enum values and nothing is sent until a leaf is awaited.
 *
 * This server parses each query, records it, and answers with data of the same
 * selection shape. Field return types come from the SDK's own
 * `api/client.gen.d.ts`, so leaves get a value of the right kind:
 * - object-typed leaves (`id`, `sync`) get an ID "<Type>:<n>"; the same pipeline
 *   always gets the same ID and `node(id:)` of a known ID continues that pipeline,
 *   so IDs round-trip and {@link RecordingEngine.calls} sees whole pipelines;
 * - strings "", numbers 0, booleans false, Void null, enums their first value,
 *   lists [] unless answered otherwise with {@link RecordingEngine.answer}.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import {
  Kind,
  parse,
  valueFromASTUntyped,
  type FieldNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import ts from "typescript";

/** One field selected in a query: a step of a pipeline. */
export interface Call {
  /** GraphQL field, e.g. "withExec". */
  field: string;
  /** Arguments with variables resolved; enum values as their GraphQL names ("ANY"). */
  args: Record<string, unknown>;
  /** GraphQL type the field is selected on, e.g. "Container" ("Query" at the root). */
  parent: string;
}

/** One query as the engine received it. */
export interface RecordedQuery {
  query: string;
  variables: Record<string, unknown>;
  /** One chain per leaf (the SDK always sends a single chain), as sent. */
  chains: Call[][];
  /** The same chains with a leading `node(id:)` of a known ID replaced by the pipeline that made it. */
  expanded: Call[][];
}

/** What an {@link Answer} function gets for the field it answers. */
export interface AnswerContext extends Call {
  /** The full pipeline leading to and including this field ({@link RecordedQuery.expanded}). */
  chain: Call[];
}

/**
 * A value for a field, or a function computing it (may throw {@link EngineError};
 * returning `undefined` keeps the default answer for that call).
 * Leaves take the value as is. A field returning a list of objects takes the
 * number of elements to answer (each element then answers its own selection).
 */
export type Answer = unknown | ((ctx: AnswerContext) => unknown);

/** Thrown from an {@link Answer} to make the query fail with this GraphQL error. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** An error the SDK turns into its `ExecError` (with cmd, exitCode, stdout, stderr). */
export function execError(opts: { cmd: string[]; exitCode: number; stdout?: string; stderr?: string }): EngineError {
  return new EngineError(`process "${opts.cmd.join(" ")}" did not complete successfully: exit code: ${opts.exitCode}`, {
    _type: "EXEC_ERROR",
    cmd: opts.cmd,
    exitCode: opts.exitCode,
    stdout: opts.stdout ?? "",
    stderr: opts.stderr ?? "",
  });
}

/** A `withExec` step: its argv plus every option given (insecureRootCapabilities, expect, ...). */
export type ExecCall = { args: string[] } & Record<string, unknown>;

export interface RecordingEngine {
  /** Port the engine listens on (127.0.0.1). */
  readonly port: number;
  /** Every query received, in order. */
  queries(): RecordedQuery[];
  /** One expanded chain per query leaf, in order (a pipeline awaited twice appears twice). */
  chains(): Call[][];
  /**
   * Every distinct pipeline step asked of the engine, in first-seen order: the
   * expanded chains merged on common prefixes, so a pipeline whose `id` was
   * taken and then continued, or that was awaited twice, counts its steps once.
   * `id` selections are left out: they are how the SDK passes objects, not steps.
   */
  calls(): Call[];
  /** {@link calls} of one field, e.g. `fieldCalls("from")`. */
  fieldCalls(field: string): Call[];
  /** Every distinct `withExec` step ({@link calls}) as argv + options. */
  execs(): ExecCall[];
  /** The pipeline that produced an ID this engine handed out (undefined if not one of its IDs). */
  pipelineOf(id: string): Call[] | undefined;
  /** Answer a field (by name, on any type) with a value or function; replaces earlier answers. */
  answer(field: string, value: Answer): void;
  /** Forget recorded queries and answers (IDs handed out stay valid). */
  reset(): void;
  /** Stop the server and restore DAGGER_SESSION_PORT/TOKEN as they were. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Field types, read from the SDK's generated client declarations.

type FieldType =
  | { kind: "object"; name: string }
  | { kind: "list"; of: FieldType }
  | { kind: "string" | "number" | "boolean" | "void" }
  | { kind: "enum"; first: string };

type Schema = Map<string, Map<string, FieldType>>;

const SDK_API = resolve(dirname(fileURLToPath(import.meta.url)), "../../node_modules/dagger-sdk/dist/src/api");

/** GraphQL name of a generated class: `Client` is the root, `Module_` is `Module`. */
function graphqlTypeName(className: string): string {
  return className === "Client" ? "Query" : className.replace(/_$/, "");
}

function loadSchema(): Schema {
  const source = ts.createSourceFile(
    "client.gen.d.ts",
    readFileSync(resolve(SDK_API, "client.gen.d.ts"), "utf8"),
    ts.ScriptTarget.Latest,
  );
  const classes = new Set<string>();
  const enums = new Map<string, string>();
  const aliases = new Map<string, ts.TypeNode>();
  for (const node of source.statements) {
    if (ts.isClassDeclaration(node) && node.name) classes.add(node.name.text);
    if (ts.isTypeAliasDeclaration(node)) aliases.set(node.name.text, node.type);
    if (ts.isEnumDeclaration(node)) {
      const first = node.members[0];
      const init = first?.initializer;
      enums.set(node.name.text, init && ts.isStringLiteral(init) ? init.text : (first?.name.getText(source) ?? ""));
    }
  }

  const toFieldType = (type: ts.TypeNode): FieldType => {
    if (ts.isArrayTypeNode(type)) return { kind: "list", of: toFieldType(type.elementType) };
    if (ts.isTypeReferenceNode(type)) {
      const name = type.typeName.getText(source);
      if (name === "Promise" && type.typeArguments?.[0]) return toFieldType(type.typeArguments[0]);
      if (classes.has(name)) return { kind: "object", name: graphqlTypeName(name) };
      if (enums.has(name)) return { kind: "enum", first: enums.get(name)! };
      if (name === "Void") return { kind: "void" };
      const alias = aliases.get(name);
      // Scalars (ID, JSON, Platform, ...) are `string & { __X: never }`.
      if (alias) return ts.isIntersectionTypeNode(alias) ? { kind: "string" } : toFieldType(alias);
    }
    switch (type.kind) {
      case ts.SyntaxKind.NumberKeyword:
        return { kind: "number" };
      case ts.SyntaxKind.BooleanKeyword:
        return { kind: "boolean" };
      case ts.SyntaxKind.VoidKeyword:
        return { kind: "void" };
      default:
        return { kind: "string" };
    }
  };

  const schema: Schema = new Map();
  for (const node of source.statements) {
    if (!ts.isClassDeclaration(node) || !node.name) continue;
    const fields = new Map<string, FieldType>();
    for (const member of node.members) {
      if (!member.name || !ts.isIdentifier(member.name)) continue;
      // Fields are declared as `name: (args) => T` or as methods `name(args): T`.
      let returns: ts.TypeNode | undefined;
      if (ts.isPropertyDeclaration(member) && member.type && ts.isFunctionTypeNode(member.type)) {
        returns = member.type.type;
      } else if (ts.isMethodDeclaration(member)) {
        returns = member.type;
      }
      if (returns) fields.set(member.name.text, toFieldType(returns));
    }
    schema.set(graphqlTypeName(node.name.text), fields);
  }
  return schema;
}

let schemaCache: Schema | undefined;
const schema = (): Schema => (schemaCache ??= loadSchema());

function fieldType(parent: string, field: string): FieldType {
  // `id` is not a generated method everywhere (e.g. on interfaces); it is always the parent's ID.
  if (field === "id") return { kind: "object", name: parent };
  return schema().get(parent)?.get(field) ?? { kind: "string" };
}

// ---------------------------------------------------------------------------

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => ok(Buffer.concat(chunks).toString("utf8")));
    req.on("error", fail);
  });
}

const callKey = (chain: Call[]): string => JSON.stringify(chain.map((c) => [c.field, c.args]));

/**
 * Start the engine on 127.0.0.1 (random port) and point the SDK at it through
 * DAGGER_SESSION_PORT / DAGGER_SESSION_TOKEN. One engine per test file: the
 * variables are process-wide.
 */
export async function startRecordingEngine(): Promise<RecordingEngine> {
  const token = `recording-engine-${process.pid}`;
  const recorded: RecordedQuery[] = [];
  const answers = new Map<string, Answer>();
  // ID <-> pipeline, so that equal pipelines share an ID and node(id:) continues one.
  const idByPipeline = new Map<string, string>();
  const pipelineById = new Map<string, Call[]>();
  let idCount = 0;

  const idFor = (type: string, pipeline: Call[]): string => {
    const key = callKey(pipeline);
    let id = idByPipeline.get(key);
    if (!id) {
      id = `${type}:${++idCount}`;
      idByPipeline.set(key, id);
      pipelineById.set(id, pipeline);
    }
    return id;
  };

  const expand = (call: Call): Call[] => {
    if (call.field !== "node") return [call];
    const id = String(call.args.id);
    const known = pipelineById.get(id);
    if (known) return known;
    // An ID the test made up (e.g. a "Directory:source" argument): answer it with itself.
    idByPipeline.set(callKey([call]), id);
    pipelineById.set(id, [call]);
    return [call];
  };

  const answerFor = (ctx: AnswerContext, fallback: () => unknown): unknown => {
    if (!answers.has(ctx.field)) return fallback();
    const a = answers.get(ctx.field);
    if (typeof a !== "function") return a;
    // A function answering `undefined` leaves that field to the default answer.
    const value = (a as (c: AnswerContext) => unknown)(ctx);
    return value === undefined ? fallback() : value;
  };

  /** Answer a selection set on `parent`, recording each chain from `raw`/`expanded`. */
  const resolveSelection = (
    selection: SelectionSetNode,
    parent: string,
    variables: Record<string, unknown>,
    raw: Call[],
    expanded: Call[],
    out: RecordedQuery,
  ): Record<string, unknown> => {
    const data: Record<string, unknown> = {};
    for (const sel of selection.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition?.name.value ?? parent;
        Object.assign(data, resolveSelection(sel.selectionSet, type, variables, raw, expanded, out));
      } else if (sel.kind === Kind.FIELD) {
        data[sel.alias?.value ?? sel.name.value] = resolveField(sel, parent, variables, raw, expanded, out);
      } else {
        throw new EngineError("fragment spreads are not supported by the recording engine");
      }
    }
    return data;
  };

  const resolveField = (
    node: FieldNode,
    parent: string,
    variables: Record<string, unknown>,
    raw: Call[],
    expanded: Call[],
    out: RecordedQuery,
  ): unknown => {
    const args = Object.fromEntries((node.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value, variables)]));
    const call: Call = { field: node.name.value, args, parent };
    const rawChain = [...raw, call];
    const chain = [...expanded, ...(expanded.length === 0 ? expand(call) : [call])];
    const ctx: AnswerContext = { ...call, chain };
    // `node(id:)` returns the interface Node; its inline fragment names the type.
    let type = call.field === "node" ? { kind: "object" as const, name: "Node" } : fieldType(parent, call.field);

    if (node.selectionSet) {
      const list = type.kind === "list";
      while (type.kind === "list") type = type.of;
      const typeName = type.kind === "object" ? type.name : parent;
      const sub = (r: Call[], e: Call[]) => resolveSelection(node.selectionSet!, typeName, variables, r, e, out);
      if (!list) return sub(rawChain, chain);
      const count = Number(answerFor(ctx, () => 0));
      // Elements of a list are told apart by a synthetic index step.
      return Array.from({ length: count }, (_, index) => {
        const step: Call = { field: "[]", args: { index }, parent: typeName };
        return sub([...rawChain, step], [...chain, step]);
      });
    }

    out.chains.push(rawChain);
    out.expanded.push(chain);
    return answerFor(ctx, () => {
      switch (type.kind) {
        case "object":
          // The ID of the pipeline up to the object (`id` itself is not part of it).
          return idFor(type.name, call.field === "id" ? expanded : chain);
        case "list":
          return [];
        case "number":
          return 0;
        case "boolean":
          return false;
        case "void":
          return null;
        case "enum":
          return type.first;
        default:
          return "";
      }
    });
  };

  const handle = (body: string): { status: number; json: unknown } => {
    const { query, variables = {} } = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
    const document = parse(query);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    if (!operation) return { status: 400, json: { errors: [{ message: "no operation in query" }] } };
    const out: RecordedQuery = { query, variables, chains: [], expanded: [] };
    recorded.push(out);
    try {
      return { status: 200, json: { data: resolveSelection(operation.selectionSet, "Query", variables, [], [], out) } };
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      return { status: 200, json: { data: null, errors: [{ message: e.message, extensions: e.extensions }] } };
    }
  };

  const expectedAuth = `Basic ${Buffer.from(`${token}:`).toString("base64")}`;
  const server: Server = createServer((req, res) => {
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    if (req.method !== "POST" || req.url !== "/query") return reply(404, { errors: [{ message: "not found" }] });
    if (req.headers.authorization !== expectedAuth) return reply(401, { errors: [{ message: "bad session token" }] });
    readBody(req)
      .then((body) => {
        const { status, json } = handle(body);
        reply(status, json);
      })
      .catch((e: unknown) => reply(500, { errors: [{ message: `recording engine: ${String(e)}` }] }));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;

  const saved = { port: process.env.DAGGER_SESSION_PORT, token: process.env.DAGGER_SESSION_TOKEN };
  process.env.DAGGER_SESSION_PORT = String(port);
  process.env.DAGGER_SESSION_TOKEN = token;

  const chains = () => recorded.flatMap((q) => q.expanded);
  const calls = (): Call[] => {
    const seen = new Set<string>();
    const out: Call[] = [];
    for (const chain of chains()) {
      chain.forEach((call, i) => {
        const key = callKey(chain.slice(0, i + 1));
        if (call.field !== "id" && !seen.has(key)) {
          seen.add(key);
          out.push(call);
        }
      });
    }
    return out;
  };
  const fieldCalls = (field: string) => calls().filter((c) => c.field === field);

  return {
    port,
    queries: () => [...recorded],
    chains,
    calls,
    fieldCalls,
    execs: () => fieldCalls("withExec").map(({ args }) => ({ ...args, args: args.args as string[] })),
    pipelineOf: (id) => pipelineById.get(id),
    answer: (field, value) => void answers.set(field, value),
    reset: () => {
      recorded.length = 0;
      answers.clear();
    },
    stop: async () => {
      const closed = new Promise<void>((ok, fail) => server.close((e) => (e ? fail(e) : ok())));
      // The SDK's fetch keeps connections alive; do not wait for them to time out.
      server.closeAllConnections();
      await closed;
      for (const [name, value] of [
        ["DAGGER_SESSION_PORT", saved.port],
        ["DAGGER_SESSION_TOKEN", saved.token],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
  };
}
