// Builds dist/m.js, the tracker the collector embeds and serves at /m.js:
// one minified IIFE, no comments. It fails when the script gzips to more
// than BUDGET bytes, so the size promise cannot drift.
//
//   node build.mjs          write dist/m.js
//   node build.mjs --check  fail when dist/m.js is not what the source builds to
import { readFileSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

export const BUDGET = 1500
export const DIST = fileURLToPath(new URL('dist/m.js', import.meta.url))

// build returns the minified script.
export async function build() {
  const out = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('src/main.js', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020',
    legalComments: 'none',
    charset: 'utf8',
    write: false,
  })
  return Buffer.from(out.outputFiles[0].contents)
}

// gzipSize is the script's size gzipped at the best level, as a server
// that pre-compresses it sends it.
export const gzipSize = (b) => gzipSync(b, { level: 9 }).length

async function main() {
  const code = await build()
  const size = gzipSize(code)
  console.log(`m.js: ${code.length} bytes, ${size} bytes gzipped (budget ${BUDGET})`)
  if (size > BUDGET) {
    throw new Error(`m.js is ${size} bytes gzipped, over the ${BUDGET}-byte budget`)
  }
  if (process.argv.includes('--check')) {
    if (!code.equals(readFileSync(DIST))) {
      throw new Error('dist/m.js is stale: run `make tracker` (node build.mjs) and commit it')
    }
    return
  }
  writeFileSync(DIST, code)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e.message)
    process.exit(1)
  })
}
