import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { httpSend } from './raw-http';

/* Checks of the service against its own /docs-json, with validators nobody here wrote. */

type Schema = Record<string, unknown>;
interface MediaType {
  schema?: Schema;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/** One HTTP request as a client sent it. */
export interface SentRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

/**
 * A validating gateway built on the document: express-openapi-validator (requests, security
 * requirements included) behind body parsers as a gateway has them (JSON parsed, anything else raw
 * bytes, no size limit of its own). Answers 204 when the request passes, else its refusal.
 */
export async function requestGate(document: OpenApiDocument): Promise<RequestGate> {
  const gate = express();
  gate.use(express.raw({ type: () => true, limit: '64mb' }));
  // JSON media types parsed as JSON whatever their charset label (the service reads the bytes); what
  // does not parse stays bytes: whether a gateway refuses malformed JSON is not the document's say.
  gate.use((req: Request, _res: Response, next: NextFunction) => {
    if (Buffer.isBuffer(req.body) && /[/+]json\b/i.test(req.headers['content-type'] ?? '')) {
      try {
        req.body = JSON.parse(req.body.toString('utf8')) as unknown;
      } catch {
        // kept as bytes
      }
    }
    next();
  });
  gate.use(
    OpenApiValidator.middleware({
      apiSpec: structuredClone(document) as never,
      validateResponses: false,
      validateSecurity: true,
      // OpenAPI declares the parameters a route reads, not a closed list: the service ignores others.
      validateRequests: { allowUnknownQueryParameters: true },
    }),
  );
  gate.use((_req: Request, res: Response) => res.status(204).end());
  gate.use(
    (
      err: { status?: number; message: string; errors?: unknown },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => res.status(err.status ?? 500).json({ message: err.message, errors: err.errors }),
  );
  // On a port of its own, sent the exact bytes (a client library would re-encode some bodies).
  const server = gate.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async check({ method, path, headers, body }) {
      const answer = await httpSend(base, { method, path, headers: headers, body });
      const text = answer.body.toString('utf8');
      return { status: answer.status, body: text.startsWith('{') ? (JSON.parse(text) as unknown) : text };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface RequestGate {
  check(sent: SentRequest): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

/**
 * A strict OpenAPI 3.0 response validator: ajv in strict mode with the OpenAPI keywords (`nullable`
 * only beside a `type`, as strict tools read it) and the formats. An answer validates when its
 * operation documents its status and its Content-Type, and its body matches that schema.
 */
export function responseChecker(document: OpenApiDocument): (sent: SentRequest, answer: Answer) => string[] {
  const ajv = new Ajv({ strict: true, allErrors: true, discriminator: true });
  addFormats(ajv);
  ajv.addKeyword('example');
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('binary', true);
  // Component schemas as definitions of one schema, every $ref pointing there.
  const local = (schema: unknown) =>
    JSON.parse(
      JSON.stringify(schema).replaceAll('"#/components/schemas/', '"openapi#/definitions/'),
    ) as Schema;
  ajv.addSchema({ $id: 'openapi', definitions: local(document.components?.schemas ?? {}) });
  const compiled = new Map<Schema, ValidateFunction>();
  const compile = (schema: Schema) => {
    if (!compiled.has(schema)) compiled.set(schema, ajv.compile(local(schema)));
    return compiled.get(schema)!;
  };

  const routes = Object.entries(document.paths).map(([template, operations]) => ({
    params: template.split('{').length - 1,
    // Routed as Express routes them: any case, an optional trailing slash.
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`, 'i'),
    operations,
  }));

  return (sent, answer) => {
    const path = new URL(sent.path, 'http://x').pathname;
    const method = sent.method.toLowerCase();
    // A literal path before a templated one (/admin/events/replay before /admin/events/{eventId}).
    const operation = routes
      .filter((route) => route.pattern.test(path) && route.operations[method])
      .sort((a, b) => a.params - b.params)[0]?.operations[method];
    if (!operation) return answer.status === 404 ? [] : [`${sent.method} ${path} is not in the document`];
    const response =
      operation.responses[String(answer.status)] ?? operation.responses[`${String(answer.status)[0]}XX`];
    if (!response) return [`${sent.method} ${path}: status ${answer.status} is not documented`];
    if (sent.method.toUpperCase() === 'HEAD' || answer.body.length === 0) return [];
    const type = (answer.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const media = response.content?.[type] ?? response.content?.['*/*'];
    if (!media) return [`${sent.method} ${path} ${answer.status}: Content-Type ${type} is not documented`];
    if (!media.schema) return [];
    const text = answer.body.toString('utf8');
    let value: unknown = text;
    if (type === 'application/json') {
      try {
        value = JSON.parse(text);
      } catch {
        return [`${sent.method} ${path} ${answer.status}: the body is not JSON`];
      }
    }
    const validate = compile(media.schema);
    return validate(value)
      ? []
      : [
          `${sent.method} ${path} ${answer.status}: ${ajv.errorsText(validate.errors)} in ${text.slice(0, 300)}`,
        ];
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}
