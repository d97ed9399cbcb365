import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Validates JSON against the schemas of the OpenAPI document as served: the document is loaded into
 * ajv whole, and a schema is addressed by its JSON pointer, so `$ref`s resolve inside the document.
 */

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, Record<string, unknown>> };
}

export interface MediaType {
  schema: unknown;
  example?: unknown;
}

export interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description: string; content?: Record<string, MediaType> }>;
}

const DOCUMENT_ID = 'openapi.json';

const pointer = (...segments: string[]) => segments.map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/');

export class SpecValidator {
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    // OpenAPI 3.1 schemas are JSON Schema 2020-12 plus the `example` annotation.
    this.#ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(this.#ajv);
    this.#ajv.addKeyword('example');
    // The document's own fields, declared so ajv (compiling the root to resolve pointers) ignores them.
    this.#ajv.addVocabulary([
      'openapi',
      'info',
      'jsonSchemaDialect',
      'servers',
      'paths',
      'webhooks',
      'components',
      'security',
      'tags',
      'externalDocs',
    ]);
    this.#ajv.addSchema(document as object, DOCUMENT_ID);
  }

  /** Errors of `value` against the schema at a path of the document, or [] when it conforms. */
  errorsAt(segments: string[], value: unknown): string[] {
    const ref = `${DOCUMENT_ID}#/${pointer(...segments)}`;
    let validate = this.#compiled.get(ref);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: ref });
      this.#compiled.set(ref, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** The documented path template a concrete request path falls under, e.g. /v1/batches/{batch_id}. */
  templateOf(path: string): string | undefined {
    const bare = path.split('?')[0]!;
    return Object.keys(this.document.paths).find((template) => new RegExp(`^${template.replace(/\{[^/]+\}/g, '[^/]+')}$`).test(bare));
  }
}
