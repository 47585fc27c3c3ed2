// Fault injection for simulated devices, at the HTTP layer so the agent's own code meets them:
// downloads that drop half-way (the agent resumes with Range), bytes corrupted in transit (the
// agent's hash check refuses them), and a device that is offline (requests fail to connect).

/** Probabilities 0..1 per update (drop, corrupt) and the offline switch. */
export interface FaultPlan {
  downloadDropRate: number;
  badHashRate: number;
  /** Answers true while the device is offline. */
  offline: () => boolean;
}

const isDownload = (url: string) => url.includes('/api/v1/device/artifacts/');

/** Wraps a fetch so downloads may drop or be corrupted, and every request fails while offline. */
export function faultyFetch(base: typeof fetch, plan: FaultPlan, random: () => number, onFault: (kind: 'drop' | 'corrupt') => void): typeof fetch {
  return async (input, init) => {
    if (plan.offline()) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    const response = await base(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!isDownload(url) || !response.body) return response;
    const resumed = new Headers(init?.headers).has('range');
    const drop = !resumed && random() < plan.downloadDropRate;
    const corrupt = !resumed && random() < plan.badHashRate;
    if (!drop && !corrupt) return response;
    const length = Number(response.headers.get('content-length') ?? 0);
    let seen = 0;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        let chunk = value;
        if (corrupt && seen === 0 && chunk.length > 0) {
          chunk = Uint8Array.from(chunk);
          chunk[0] = chunk[0]! ^ 0xff;
          onFault('corrupt');
        }
        if (drop && seen + chunk.length >= length / 2) {
          const keep = Math.max(0, Math.floor(length / 2) - seen);
          if (keep > 0) controller.enqueue(chunk.subarray(0, keep));
          onFault('drop');
          await reader.cancel();
          return controller.error(new Error('simulated connection drop'));
        }
        seen += chunk.length;
        controller.enqueue(chunk);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** A small deterministic PRNG (mulberry32) so a simulation can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
