import http from 'node:http';

export type JsonCall = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

/**
 * A keep-alive JSON client on node:http for a benchmark's timed requests, sending one set of headers (e.g. an API
 * key). The load generator shares the measured process: `fetch` (undici, which the tests use) spends more CPU per
 * request than the route being measured (WHATWG streams on both sides of each body), and on two cores that CPU is
 * taken from the server. Every HTTP kind in one benchmark is called through the same client.
 */
export function jsonClient(baseUrl: string, headers: Record<string, string>, maxSockets: number): JsonCall {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const { hostname, port } = new URL(baseUrl);
  const call: JsonCall = (method, path, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          agent,
          hostname,
          port,
          method,
          path,
          headers: {
            ...headers,
            ...(payload !== undefined && {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(payload),
            }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      // A kept-alive socket the server closed while idle (between passes) fails at once: send again on a new one,
      // as the Node docs advise for `reusedSocket` (the requests benchmarked are idempotent).
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (req.reusedSocket && error.code === 'ECONNRESET') call(method, path, body).then(resolve, reject);
        else reject(error);
      });
      req.end(payload);
    });
  return call;
}
