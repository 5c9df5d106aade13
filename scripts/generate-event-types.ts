import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedModulePath, readOpenApiEventTypes, renderEventTypesModule } from './openapi-event-types.js';

/**
 * Writes src/terra/event-types-openapi.ts from Terra's OpenAPI. Run with `npm run event-types`
 * (reads ../shared/reference/terra-openapi) or `npm run event-types -- <openapi dir>`.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const openApiDir = resolve(process.argv[2] ?? join(root, '..', 'shared', 'reference', 'terra-openapi'));
const target = join(root, generatedModulePath);
await writeFile(target, renderEventTypesModule(await readOpenApiEventTypes(openApiDir)));
console.log(`wrote ${target} from ${openApiDir}`);
