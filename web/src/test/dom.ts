// jsdom lays nothing out: give elements a size so the virtualised feed
// renders rows, as it does in a browser.
import { cleanup, configure } from '@testing-library/react'
import { afterEach } from 'vitest'
import { sessionEnded } from '../api/credentials'

// findBy… and waitFor wait for what a test expects to appear. Their 1 s
// default is a budget of CPU time that a machine running the Go and browser
// suites beside this one does not always give; a wait that ends early only
// fails a test that was right, so it waits longer (vite.config.ts gives each
// test 30 s likewise).
configure({ asyncUtilTimeout: 10_000 })

Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 440 })
Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 600 })

afterEach(() => {
  cleanup()
  window.localStorage.clear()
  window.sessionStorage.clear()
  // No test inherits another's CSRF token.
  sessionEnded()
  // Views keep their state in the URL: each test starts from a bare one.
  window.history.replaceState(null, '', '/')
})

// jsdom has neither matchMedia nor a 2D canvas: uPlot needs both to build a
// chart. A context that accepts every call and draws nothing lets the chart
// components run their real code paths.
if (typeof window.matchMedia !== 'function') {
  Object.defineProperty(window, 'matchMedia', {
    configurable: true,
    value: (query: string) => ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }),
  })
}

const noop = () => {}
const context2d = new Proxy(
  {},
  {
    get: (target: Record<string | symbol, unknown>, key) => {
      if (key in target) return target[key]
      if (key === 'measureText') return () => ({ width: 0 })
      return noop
    },
    set: (target: Record<string | symbol, unknown>, key, value) => {
      target[key] = value
      return true
    },
  },
)
Object.defineProperty(HTMLCanvasElement.prototype, 'getContext', { configurable: true, value: () => context2d })

if (typeof globalThis.Path2D !== 'function') {
  class Path2DStub {
    addPath() {}
    closePath() {}
    moveTo() {}
    lineTo() {}
    bezierCurveTo() {}
    quadraticCurveTo() {}
    arc() {}
    arcTo() {}
    ellipse() {}
    rect() {}
    roundRect() {}
  }
  Object.defineProperty(globalThis, 'Path2D', { configurable: true, value: Path2DStub })
}

// Nothing is ever resized in jsdom.
if (typeof globalThis.ResizeObserver !== 'function') {
  class ResizeObserverStub {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  Object.defineProperty(globalThis, 'ResizeObserver', { configurable: true, value: ResizeObserverStub })
}
