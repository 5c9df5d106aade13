/** The most of an answer's body that is read; a transaction-response for a long activity is well under it. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * An answer's JSON body (FHIR or OAuth), or null when it is not JSON, empty or larger than the
 * limit (the rest is dropped). Never throws for a bad body: the status is the answer.
 */
export async function readJsonBody(response: Response): Promise<unknown> {
  if (response.body === null) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      size += chunk.value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel();
        return null;
      }
      chunks.push(chunk.value);
    }
  } catch {
    return null;
  }
  const type = response.headers.get('content-type') ?? '';
  if (!/json/i.test(type)) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
