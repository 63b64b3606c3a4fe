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
 * Every query is first checked against the engine's own schema (the core API
 * of the pinned engine version, test/fixtures/dagger): a query the real engine
 * would refuse (unknown field, wrong argument type, unknown enum value, missing
 * required argument, bad variables) gets the engine's error response, so the
 * SDK raises, and is kept in {@link RecordingEngine.rejected} so no test can
 * swallow it. An accepted query is recorded and answered with data of the same
 * selection shape, each leaf a value of its schema type:
 * - `ID` leaves (`id`, `sync`) get an ID "<Type>:<n>"; the same pipeline
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
  buildSchema,
  getVariableValues,
  isEnumType,
  isListType,
  isWrappingType,
  Kind,
  parse,
  ScalarLeafsRule,
  specifiedRules,
  validate,
  ValuesOfCorrectTypeRule,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type GraphQLError,
  type GraphQLField,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from "graphql";

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
  /**
   * Queries refused as the real engine would refuse them (not in {@link queries}),
   * not yet taken. The module project's setup (test/harness/setup.ts) fails every
   * test after which one is left, so a test that catches the SDK's error (as
   * allChecks does) cannot hide a query the engine would not run.
   */
  rejected(): RejectedQuery[];
  /** Return the refused queries and forget them: for a test that sends invalid queries on purpose. */
  takeRejected(): RejectedQuery[];
  /** Forget recorded queries and answers (IDs handed out stay valid; refused queries are kept). */
  reset(): void;
  /** Stop the server and restore DAGGER_SESSION_PORT/TOKEN as they were. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------
// The engine's own schema: queries are validated against it and answers typed by it.

/** The core API of the engine version dagger.json pins (test/fixtures/dagger, with provenance). */
export const SCHEMA_FILE = resolve(dirname(fileURLToPath(import.meta.url)), "../fixtures/dagger/schema-v0.21.8.graphqls");

// Parsed once per process: kept on globalThis, so a fresh evaluation of this module in the same
// worker finds it.
const SCHEMA_KEY = Symbol.for("bty-ci.test.harness.schema");
/** The engine's GraphQL schema, built with graphql-js from {@link SCHEMA_FILE}. */
export function engineSchema(): GraphQLSchema {
  const store = globalThis as Record<symbol, GraphQLSchema | undefined>;
  return (store[SCHEMA_KEY] ??= buildSchema(readFileSync(SCHEMA_FILE, "utf8")));
}

/**
 * The engine (gqlgen's handler in dagql/server.go) runs graphql's default
 * validation rules minus ValuesOfCorrectType and ScalarLeafs, and answers a
 * query failing them with HTTP 422 and code GRAPHQL_VALIDATION_FAILED. What
 * those two rules check it refuses later, when dagql decodes the arguments
 * (an unknown enum value, a string for an Int), with HTTP 200 and `errors`.
 */
const DECODE_RULES = new Set<ValidationRule>([ValuesOfCorrectTypeRule, ScalarLeafsRule]);
const STRUCTURE_RULES = specifiedRules.filter((r) => !DECODE_RULES.has(r));

/** A query the engine would refuse, with the errors it would answer. */
export interface RejectedQuery {
  query: string;
  variables: Record<string, unknown>;
  /** HTTP status the engine answers with (422 validation, 200 argument decoding). */
  status: number;
  errors: { message: string; extensions?: Record<string, unknown> }[];
}

/** Why a query would be refused, or undefined when the engine accepts it. */
export function checkQuery(query: string, variables: Record<string, unknown> = {}): Omit<RejectedQuery, "query" | "variables"> | undefined {
  const schema = engineSchema();
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (e) {
    return { status: 422, errors: [{ message: (e as GraphQLError).message, extensions: { code: "GRAPHQL_PARSE_FAILED" } }] };
  }
  const invalid = (errors: readonly GraphQLError[]) =>
    errors.map((e) => ({ message: e.message, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }));
  const structure = validate(schema, document, STRUCTURE_RULES);
  if (structure.length) return { status: 422, errors: invalid(structure) };
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const coerced = getVariableValues(schema, operation?.variableDefinitions ?? [], variables);
  if (coerced.errors) return { status: 422, errors: invalid(coerced.errors) };
  const values = validate(schema, document, [...DECODE_RULES]);
  if (values.length) return { status: 200, errors: values.map((e) => ({ message: e.message })) };
  return undefined;
}

/** The named type under any list/non-null wrappers, and whether a list was among them. */
function unwrap(type: GraphQLOutputType): { named: GraphQLNamedType; list: boolean } {
  let list = false;
  let t: GraphQLType = type;
  while (isWrappingType(t)) {
    if (isListType(t)) list = true;
    t = t.ofType;
  }
  return { named: t, list };
}

/** The type an `ID` field stands for: its `@expectedType(name:)`, else the type it is selected on (`id`). */
function expectedIdType(field: GraphQLField<unknown, unknown>, parent: string): string {
  const directive = field.astNode?.directives?.find((d) => d.name.value === "expectedType");
  const name = directive?.arguments?.find((a) => a.name.value === "name")?.value;
  return name?.kind === Kind.STRING ? name.value : parent;
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

/**
 * Engines started and not yet stopped. The module project's test files share
 * this module in a worker; its setup (setup.ts) fails a file that leaves one
 * running, so these are the current file's.
 */
const ENGINES = new Set<RecordingEngine>();

/** The engines of the current test file, for the setup's check for refused queries. */
export const runningEngines = (): RecordingEngine[] => [...ENGINES];

const callKey = (chain: Call[]): string => JSON.stringify(chain.map((c) => [c.field, c.args]));

/**
 * Start the engine on 127.0.0.1 (random port) and point the SDK at it through
 * DAGGER_SESSION_PORT / DAGGER_SESSION_TOKEN. One engine per test file: the
 * variables are process-wide.
 */
export async function startRecordingEngine(): Promise<RecordingEngine> {
  const token = `recording-engine-${process.pid}`;
  const recorded: RecordedQuery[] = [];
  const rejected: RejectedQuery[] = [];
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
        // Valid, but this stand-in does not answer named fragments (the SDK never sends them).
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
    if (call.field === "__typename") return parent;
    // Validation passed, so the field exists on the (object or interface) parent.
    const parentType = engineSchema().getType(parent) as GraphQLObjectType | GraphQLInterfaceType;
    const field = parentType.getFields()[call.field]!;
    const { named, list } = unwrap(field.type);

    if (node.selectionSet) {
      const sub = (r: Call[], e: Call[]) => resolveSelection(node.selectionSet!, named.name, variables, r, e, out);
      if (!list) return sub(rawChain, chain);
      const count = Number(answerFor(ctx, () => 0));
      // Elements of a list are told apart by a synthetic index step.
      return Array.from({ length: count }, (_, index) => {
        const step: Call = { field: "[]", args: { index }, parent: named.name };
        return sub([...rawChain, step], [...chain, step]);
      });
    }

    out.chains.push(rawChain);
    out.expanded.push(chain);
    return answerFor(ctx, () => {
      if (list) return [];
      if (isEnumType(named)) return named.getValues()[0]!.name;
      switch (named.name) {
        case "ID":
          // The ID of the pipeline up to the object (`id` itself is not part of it).
          return idFor(expectedIdType(field, parent), call.field === "id" ? expanded : chain);
        case "Int":
        case "Float":
          return 0;
        case "Boolean":
          return false;
        case "Void":
          return null;
        default:
          return "";
      }
    });
  };

  const handle = (body: string): { status: number; json: unknown } => {
    const { query, variables = {} } = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
    const refused = checkQuery(query, variables);
    if (refused) {
      rejected.push({ query, variables, ...refused });
      return { status: refused.status, json: { data: null, errors: refused.errors } };
    }
    const document = parse(query);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
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

  const engine: RecordingEngine = {
    port,
    queries: () => [...recorded],
    chains,
    calls,
    fieldCalls,
    execs: () => fieldCalls("withExec").map(({ args }) => ({ ...args, args: args.args as string[] })),
    pipelineOf: (id) => pipelineById.get(id),
    answer: (field, value) => void answers.set(field, value),
    rejected: () => [...rejected],
    takeRejected: () => rejected.splice(0),
    reset: () => {
      recorded.length = 0;
      answers.clear();
    },
    stop: async () => {
      ENGINES.delete(engine);
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
  ENGINES.add(engine);
  return engine;
}
