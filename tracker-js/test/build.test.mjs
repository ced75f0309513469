// The size budget and the committed build are checked in every test run,
// not only when someone runs the build.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { build, gzipSize, BUDGET, DIST } from '../build.mjs'

test(`m.js gzips to at most ${BUDGET} bytes`, async () => {
  const size = gzipSize(await build())
  assert.ok(size <= BUDGET, `m.js is ${size} bytes gzipped, over the ${BUDGET}-byte budget`)
})

test('dist/m.js is what the source builds to', async () => {
  assert.ok((await build()).equals(readFileSync(DIST)), 'dist/m.js is stale: run `make tracker` and commit it')
})
