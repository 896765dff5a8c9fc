/** The part of autocannon's API (v8+) the load run uses; the package ships no types. */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface RawRequest {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    }
    interface RequestStep<C> extends RawRequest {
      setupRequest?: (request: RawRequest, context: C) => RawRequest | null | undefined;
      onResponse?: (status: number, body: string, context: C, headers: Record<string, string>) => void;
    }
    interface Options<C> {
      url: string;
      connections?: number;
      duration?: number;
      overallRate?: number;
      timeout?: number;
      requests?: RequestStep<C>[];
      initialContext?: C;
      headers?: Record<string, string>;
    }
    interface Histogram {
      average: number;
      p50: number;
      p90: number;
      p97_5: number;
      p99: number;
      max: number;
    }
    interface Result {
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      latency: Histogram;
      requests: Histogram & { total: number };
      statusCodeStats: Record<string, { count: number }>;
    }
    interface Instance extends EventEmitter {
      stop(): void;
      on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): this;
      on(event: 'reqError', listener: (error: Error) => void): this;
      on(event: 'tick', listener: (counter: { counter: number; bytes: number }) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }
  }

  function autocannon<C>(options: autocannon.Options<C>, callback: (error: Error | null, result: autocannon.Result) => void): autocannon.Instance;
  export = autocannon;
}
