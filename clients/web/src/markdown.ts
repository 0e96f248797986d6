// Agent text as Markdown: marked (GFM) → sanitised by DOMPurify; fenced code highlighted by
// highlight.js (core and a few languages, explicit language only: no auto-detection cost).
// Raw HTML in the Markdown is shown as text, never parsed as markup; DOMPurify then removes
// anything active that could still come through (event handlers, javascript: links, …).

import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import ini from "highlight.js/lib/languages/ini";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";
import { Marked, type Tokens } from "marked";

import { esc } from "./util.js";

for (const [name, lang] of Object.entries({ bash, diff, go, ini, javascript, json, python, rust, typescript, xml, yaml })) {
  hljs.registerLanguage(name, lang);
}
hljs.registerAliases(["sh", "shell", "zsh", "console"], { languageName: "bash" });
hljs.registerAliases(["toml"], { languageName: "ini" });
hljs.registerAliases(["html", "svg"], { languageName: "xml" });
hljs.registerAliases(["patch"], { languageName: "diff" });

/** Code as highlighted HTML (escaped plain text when the language is unknown). */
export function highlight(code: string, lang: string): string {
  if (lang && hljs.getLanguage(lang) && code.length < 200_000) {
    try {
      return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
    } catch {
      /* fall through to plain text */
    }
  }
  return esc(code);
}

const DATA_IMAGE = /^data:image\/(png|jpe?g|gif|webp|avif);/i;

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag): string {
      return token.block ? `<p class="raw-html">${esc(token.text)}</p>` : esc(token.text);
    },
    code(token: Tokens.Code): string {
      const lang = (token.lang ?? "").trim().split(/\s+/)[0]?.toLowerCase() ?? "";
      const cls = lang ? ` language-${esc(lang)}` : "";
      return `<pre><code class="hljs${cls}">${highlight(token.text.replace(/\n$/, ""), lang)}</code></pre>\n`;
    },
    image(token: Tokens.Image): string {
      // The page's CSP admits only data: images; a remote one is a link (and leaks nothing).
      if (DATA_IMAGE.test(token.href)) return `<img src="${esc(token.href)}" alt="${esc(token.text)}">`;
      return `<a href="${esc(token.href)}">[image: ${esc(token.text || token.href)}]</a>`;
    },
  },
});

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
  if (node.tagName === "IMG" && !DATA_IMAGE.test(node.getAttribute("src") ?? "")) node.removeAttribute("src");
});

const PURIFY = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "form", "button", "textarea", "select", "iframe", "object", "embed"],
  ADD_ATTR: ["target"],
};

/** Markdown → sanitised HTML. */
export function markdown(text: string): string {
  const html = marked.parse(text) as string;
  return DOMPurify.sanitize(html, PURIFY);
}
