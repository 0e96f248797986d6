// Draws the page's app icons (a ">_" prompt on a dark rounded square) and writes them as PNG to
// static/icons/. Run by hand (`npm run icons`) when the design changes; the PNGs are checked in
// and assemble.mjs copies them into embed/ byte for byte, so a build never depends on how this
// Node's zlib compresses.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "icons");

const BG = [0x1b, 0x26, 0x3b];
const FG = [0x7d, 0xd3, 0xfc];
const CURSOR = [0xf8, 0xfa, 0xfc];

/** Distance from p to the segment a–b. */
function segDist(px, py, ax, ay, bx, by) {
  const vx = bx - ax, vy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy)));
  const dx = px - (ax + t * vx), dy = py - (ay + t * vy);
  return Math.sqrt(dx * dx + dy * dy);
}

/** Signed distance to a rounded square covering [0,1]² with corner radius r (negative inside). */
function roundRect(px, py, r) {
  const qx = Math.abs(px - 0.5) - (0.5 - r), qy = Math.abs(py - 0.5) - (0.5 - r);
  const ox = Math.max(qx, 0), oy = Math.max(qy, 0);
  return Math.sqrt(ox * ox + oy * oy) + Math.min(Math.max(qx, qy), 0) - r;
}

/**
 * One icon: `size` pixels square. `maskable` fills the whole square (the launcher cuts its own
 * shape) and keeps the glyph inside the central safe zone.
 */
function draw(size, maskable) {
  const px = Buffer.alloc(size * size * 4);
  const S = 4; // supersampling per axis
  const scale = maskable ? 0.62 : 0.8; // glyph box relative to the icon
  const off = (1 - scale) / 2;
  const w = 0.085; // stroke half-width... in glyph units
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let bgCov = 0, fgCov = 0, curCov = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const u = (x + (sx + 0.5) / S) / size, v = (y + (sy + 0.5) / S) / size;
          const inBg = maskable ? true : roundRect(u, v, 0.22) <= 0;
          if (!inBg) continue;
          bgCov++;
          const gu = (u - off) / scale, gv = (v - off) / scale;
          const chevron = Math.min(segDist(gu, gv, 0.2, 0.26, 0.46, 0.5), segDist(gu, gv, 0.46, 0.5, 0.2, 0.74));
          if (chevron <= w) fgCov++;
          else if (segDist(gu, gv, 0.56, 0.74, 0.82, 0.74) <= w) curCov++;
        }
      }
      const n = S * S;
      const i = (y * size + x) * 4;
      const a = bgCov / n;
      if (a === 0) continue;
      const f = fgCov / bgCov, c = curCov / bgCov, b = 1 - f - c;
      for (let k = 0; k < 3; k++) px[i + k] = Math.round(BG[k] * b + FG[k] * f + CURSOR[k] * c);
      px[i + 3] = Math.round(a * 255);
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

mkdirSync(out, { recursive: true });
const icons = [
  ["icon-192.png", 192, false],
  ["icon-512.png", 512, false],
  ["icon-maskable-512.png", 512, true],
  ["apple-touch-icon.png", 180, true], // iOS rounds the corners itself
];
for (const [name, size, maskable] of icons) {
  const data = png(size, draw(size, maskable));
  writeFileSync(join(out, name), data);
  console.log(`icons: ${name} ${size}×${size} ${data.length} bytes`);
}
