// Testing Library with the app's providers: render and renderHook wrap what
// they render in a QueryClientProvider with a fresh QueryClient, so no test
// sees another's cache, and render with `as` signs that user in (their role
// hides what it cannot do). Everything else is re-exported as it is.
import { QueryClientProvider } from '@tanstack/react-query'
import {
  render as rtlRender,
  renderHook as rtlRenderHook,
  type RenderHookOptions,
  type RenderOptions,
} from '@testing-library/react'
import type { ReactNode } from 'react'
import { createQueryClient } from '../api/queries'
import type { Whoami } from '../api/schema'
import { WhoamiContext } from '../hooks/role'

export * from '@testing-library/react'

function wrapper(as: Whoami | null = null) {
  const client = createQueryClient()
  return function Providers({ children }: { children: ReactNode }) {
    return (
      <QueryClientProvider client={client}>
        <WhoamiContext.Provider value={as}>{children}</WhoamiContext.Provider>
      </QueryClientProvider>
    )
  }
}

export function render(ui: React.ReactElement, options?: Omit<RenderOptions, 'wrapper'> & { as?: Whoami }) {
  const { as, ...rest } = options ?? {}
  return rtlRender(ui, { wrapper: wrapper(as), ...rest })
}

export function renderHook<Result, Props>(
  hook: (props: Props) => Result,
  options?: Omit<RenderHookOptions<Props>, 'wrapper'>,
) {
  return rtlRenderHook(hook, { wrapper: wrapper(), ...options })
}
