// The component tests run in jsdom (dom.ts prepares it); a test file that
// asks for the node environment, such as the tracker's size, needs none of it.
if (typeof window !== 'undefined') await import('./dom.ts')
