// jsdom lays nothing out: give elements a size so the virtualised feed
// renders rows, as it does in a browser.
import { cleanup } from '@testing-library/react'
import { afterEach } from 'vitest'

Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 440 })
Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 600 })

afterEach(() => {
  cleanup()
  window.localStorage.clear()
  window.sessionStorage.clear()
})
