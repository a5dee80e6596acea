// Testing Library with the app's providers: render and renderHook wrap what
// they render in a QueryClientProvider with a fresh QueryClient, so no test
// sees another's cache. Everything else is re-exported as it is.
import { QueryClientProvider } from '@tanstack/react-query'
import {
  render as rtlRender,
  renderHook as rtlRenderHook,
  type RenderHookOptions,
  type RenderOptions,
} from '@testing-library/react'
import type { ReactNode } from 'react'
import { createQueryClient } from '../api/queries'

export * from '@testing-library/react'

function wrapper() {
  const client = createQueryClient()
  return function Providers({ children }: { children: ReactNode }) {
    return <QueryClientProvider client={client}>{children}</QueryClientProvider>
  }
}

export function render(ui: React.ReactElement, options?: Omit<RenderOptions, 'wrapper'>) {
  return rtlRender(ui, { wrapper: wrapper(), ...options })
}

export function renderHook<Result, Props>(
  hook: (props: Props) => Result,
  options?: Omit<RenderHookOptions<Props>, 'wrapper'>,
) {
  return rtlRenderHook(hook, { wrapper: wrapper(), ...options })
}
