// A fetch stand-in for component tests: answers by path and records every
// call with its method, URL and parsed body.
import { vi } from 'vitest'

export interface Call {
  method: string
  url: string
  body: unknown
  headers: Record<string, string>
}

type Handler = (call: Call) => Response | Promise<Response>

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
}

/** The URL a fetch was called with. */
export function urlOf(input: RequestInfo | URL): string {
  if (typeof input === 'string') return input
  return input instanceof URL ? input.href : input.url
}

/** Stubs the global fetch; handler answers each call. Returns the calls made so far (live array). */
export function stubFetch(handler: Handler): Call[] {
  const calls: Call[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const raw = typeof init?.body === 'string' ? init.body : undefined
      const call: Call = {
        method: init?.method ?? 'GET',
        url: urlOf(input),
        body: raw === undefined ? undefined : JSON.parse(raw),
        headers: { ...(init?.headers as Record<string, string> | undefined) },
      }
      calls.push(call)
      return handler(call)
    }),
  )
  return calls
}
