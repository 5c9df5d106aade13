/**
 * `node --import <this file>`: records every module the process resolves (ESM imports, and the
 * CommonJS packages they import) into the file named by TERRA_FANOUT_RECORD_IMPORTS.
 */
import { register } from 'node:module';

const file = process.env['TERRA_FANOUT_RECORD_IMPORTS'];
if (file !== undefined && file !== '') register('./import-recorder-hooks.js', import.meta.url, { data: { file } });
