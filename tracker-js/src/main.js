// Entry point of dist/m.js: the tracker on the real window.
import { start } from './tracker.js'

start(window)
