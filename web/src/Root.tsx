import { App } from './App'
import { Button } from './components/ui/Button'
import { ErrorText, Loading } from './components/ui/State'
import { WhoamiContext } from './hooks/role'
import { useSession } from './hooks/session'
import { SignInPage } from './pages/SignInPage'

/** The page before the console: the product's name over what is going on. */
function Waiting({ children }: { children: React.ReactNode }) {
  return (
    <main className="mx-auto flex min-h-screen max-w-sm flex-col justify-center gap-2 px-4 font-sans text-slate-900 antialiased dark:text-slate-100">
      <p className="text-center text-xl font-bold tracking-tight">Pulse</p>
      {children}
    </main>
  )
}

/**
 * Who the user is comes first: the console (and its live socket) mounts
 * only once the server has let them in; until then, or when a session
 * ends, the sign-in page stands in for it at the same address, so signing
 * in returns to the page, its parameters and all.
 */
export function Root() {
  const session = useSession()
  switch (session.state) {
    case 'loading':
      return (
        <Waiting>
          <Loading>Connecting to Pulse…</Loading>
        </Waiting>
      )
    case 'unreachable':
      return (
        <Waiting>
          <ErrorText>Could not ask the server who you are: {session.error}</ErrorText>
          <Button onClick={session.retry}>Try again</Button>
        </Waiting>
      )
    case 'needs-sign-in':
      return <SignInPage reason={session.reason} />
    default:
      return (
        <WhoamiContext.Provider value={session.me}>
          <App session={session} />
        </WhoamiContext.Provider>
      )
  }
}
