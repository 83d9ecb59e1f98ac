/* Newsletter: the block editor of a campaign's or a template's content
   (templates/newsletter/campaign_editor.html). The form's <textarea name="content"> holds
   {"blocks": [...]} as newsletter/rendering/blocks.py reads it; this script shows the blocks as
   cards built from the partial's <template>s (whose texts are translated there) and writes the
   JSON back into the textarea on every change. The cards are the state: each is read back into
   its block, so that SortableJS may move them freely. Without JavaScript the textarea stays. */
(function () {
  "use strict";

  if (window.PanelNewsletterEditor) return;

  const PREVIEW_DELAY_MS = 600;
  const PREVIEW_WIDTHS = { desktop: 640, phone: 375 };
  // The keys each block type owns; any other key of a block is kept as it came.
  const KEYS = {
    heading: ["text", "level"],
    text: ["html"],
    footer: ["html"],
    html: ["html"],
    image: ["src", "alt", "href", "width"],
    button: ["label", "href", "align"],
    divider: [],
    spacer: ["height"],
    columns: ["columns"],
    social: ["links"],
  };
  // The inline HTML a text keeps (the server's nh3 list): paragraphs, lists, emphasis, links.
  const INLINE = new Set(["b", "strong", "i", "em", "u"]);
  const LISTS = new Set(["ul", "ol"]);
  const BLOCKS = new Set([
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "section", "article",
    "header", "footer", "aside", "main", "nav", "figure", "address", "table", "tbody", "thead",
    "tr", "td", "th",
  ]);
  const SKIP = new Set(["script", "style", "template", "noscript", "iframe", "object", "head", "title"]);
  const FIELDS = "[contenteditable='true'], input:not([data-link-input]), textarea, select";
  let serial = 0;

  function without(object, keys) {
    const rest = {};
    for (const [key, value] of Object.entries(object || {})) {
      if (!keys.includes(key)) rest[key] = value;
    }
    return rest;
  }

  function format(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, (match, key) => (key in values ? values[key] : match));
  }

  function escapeText(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\u00a0/g, "&nbsp;");
  }

  function escapeAttribute(text) {
    return escapeText(text).replace(/"/g, "&quot;");
  }

  function safeHref(href) {
    const value = (href || "").trim();
    return /^(javascript|data|vbscript):/i.test(value.replace(/[\s\u0000-\u001f]+/g, "")) ? "" : value;
  }

  /* The inline HTML of a node's children: emphasis and links kept, any other element reduced
     to its text (a nested block to a line break), nothing else. */
  function inlineHtml(node) {
    let out = "";
    node.childNodes.forEach((child) => {
      if (child.nodeType === Node.TEXT_NODE) {
        // Chrome writes a space typed at the edge of a bold or a link as a no-break space;
        // one typed inside a word's text (10\u00a0km) is meant and stays.
        out += escapeText(child.data.replace(/^\u00a0|\u00a0$/g, " "));
        return;
      }
      if (child.nodeType !== Node.ELEMENT_NODE) return;
      const tag = child.localName;
      if (SKIP.has(tag)) return;
      if (tag === "br") {
        out += "<br>";
        return;
      }
      if (LISTS.has(tag)) {
        out += listHtml(child);
        return;
      }
      const inner = inlineHtml(child);
      if (tag === "a") {
        const href = safeHref(child.getAttribute("href"));
        out += href && inner ? `<a href="${escapeAttribute(href)}">${inner}</a>` : inner;
      } else if (INLINE.has(tag)) {
        out += inner ? `<${tag}>${inner}</${tag}>` : "";
      } else if (BLOCKS.has(tag) && out && inner && !out.endsWith("<br>")) {
        out += "<br>" + inner;
      } else {
        out += inner;
      }
    });
    return out;
  }

  function listHtml(list) {
    let items = "";
    list.childNodes.forEach((child) => {
      if (child.nodeType === Node.ELEMENT_NODE && child.localName === "li") {
        items += `<li>${inlineHtml(child)}</li>`;
      } else if (child.nodeType === Node.ELEMENT_NODE || child.data.trim()) {
        const wrapper = document.createElement("div");
        wrapper.append(child.cloneNode(true));
        const inner = inlineHtml(wrapper);
        if (inner) items += `<li>${inner}</li>`;
      }
    });
    return items ? `<${list.localName}>${items}</${list.localName}>` : "";
  }

  function paragraph(inner) {
    const html = inner.length > 4 && inner.endsWith("<br>") ? inner.slice(0, -4) : inner;
    return `<p>${html || "<br>"}</p>`;
  }

  function hasBlocks(element) {
    return [...element.children].some((child) => BLOCKS.has(child.localName) || LISTS.has(child.localName));
  }

  /* The HTML of what the browser's contenteditable made: paragraphs (a <div> or a bare line
     becomes a <p>) and lists of inline HTML; an editor with only empty lines is "". */
  function richHtml(node) {
    let out = "";
    let run = document.createDocumentFragment();
    const flush = () => {
      const inner = inlineHtml(run);
      if (inner.replace(/&nbsp;/g, " ").trim()) out += paragraph(inner);
      run = document.createDocumentFragment();
    };
    [...node.childNodes].forEach((child) => {
      const tag = child.nodeType === Node.ELEMENT_NODE ? child.localName : "";
      if (SKIP.has(tag)) return;
      if (LISTS.has(tag)) {
        flush();
        out += listHtml(child);
      } else if (BLOCKS.has(tag)) {
        flush();
        out += hasBlocks(child) ? richHtml(child) : paragraph(inlineHtml(child));
      } else {
        run.append(child.cloneNode(true));
      }
    });
    flush();
    return /^(<p><br><\/p>)*$/.test(out) ? "" : out;
  }

  /* Stored HTML made safe to show in the editor: parsed inert, then written as the editor
     would write it. */
  function safeRichHtml(html) {
    const template = document.createElement("template");
    template.innerHTML = html || "";
    return richHtml(template.content);
  }

  function wholeNumber(text) {
    const value = text.trim();
    if (value === "") return null;
    // Anything but digits goes as typed: the server names the block and the field.
    return /^\d+$/.test(value) ? Number(value) : value;
  }

  function starter(type, count) {
    switch (type) {
      case "heading":
        return { type, text: "", level: 2 };
      case "text":
      case "footer":
      case "html":
        return { type, html: "" };
      case "image":
        return { type, src: "", alt: "", href: "" };
      case "button":
        return { type, label: "", href: "", align: "center" };
      case "spacer":
        return { type, height: 24 };
      case "columns":
        return { type, columns: Array.from({ length: count === 3 ? 3 : 2 }, () => ({ blocks: [] })) };
      case "social":
        return { type, links: [{ network: "facebook", href: "" }] };
      default:
        return { type };
    }
  }

  class Editor {
    constructor(root) {
      this.root = root;
      this.textarea = root.querySelector("textarea[name='content']");
      this.app = root.querySelector("[data-nle-app]");
      this.list = root.querySelector("[data-nle-blocks]");
      this.palette = root.querySelector("[data-nle-palette]");
      this.live = root.querySelector("[data-nle-live]");
      this.texts = { ...root.querySelector("[data-nle-texts]").dataset };
      this.group = `nle-${++serial}`;
      this.undos = [];
      this.ranges = new WeakMap();
      this.selected = null;
      this.target = null;
      const content = this.read();
      if (!content) {
        root.querySelector("[data-nle-unreadable]").hidden = false;
        return;
      }
      this.extra = without(content, ["blocks"]);
      this.readonly = this.textarea.matches(":disabled") || this.textarea.readOnly;
      this.names = {};
      this.palette.querySelectorAll(".nle-add").forEach((item) => {
        if (item.dataset.type !== "columns") this.names[item.dataset.type] = item.textContent.trim();
      });
      content.blocks.forEach((block) => this.list.append(this.card(block)));
      root.querySelector("[data-nle-source]").hidden = true;
      this.app.hidden = false;
      if (this.readonly) this.lock();
      this.wire();
      this.sortable(this.list, false);
      this.paletteSortable();
      this.preview();
      const problems = root.querySelector("script[type='application/json']");
      if (problems) this.showProblems(JSON.parse(problems.textContent));
      root.nleEditor = this;
    }

    read() {
      let content;
      try {
        content = JSON.parse(this.textarea.value.trim() || "{}");
      } catch (error) {
        return null;
      }
      if (!content || typeof content !== "object" || Array.isArray(content)) return null;
      if (content.blocks === undefined) content.blocks = [];
      return Array.isArray(content.blocks) ? content : null;
    }

    /* -- Cards ------------------------------------------------------------------------------ */

    template(selector) {
      return this.root.querySelector(`template${selector}`);
    }

    own(card, selector) {
      return [...card.querySelectorAll(selector)].find((el) => el.closest(".nle-block") === card) || null;
    }

    ownAll(card, selector) {
      return [...card.querySelectorAll(selector)].filter((el) => el.closest(".nle-block") === card);
    }

    cards(list) {
      return [...list.children].filter((child) => child.matches(".nle-block"));
    }

    title(card) {
      return card.querySelector("[data-title]").textContent;
    }

    card(block) {
      const source = block && typeof block === "object" && !Array.isArray(block) ? block : { type: "" };
      const kind = KEYS[source.type] ? source.type : "unknown";
      const body = this.template(`[data-nle-type="${kind}"]`);
      const card = this.template("[data-nle-card]").content.firstElementChild.cloneNode(true);
      card.dataset.type = source.type;
      card.dataset.kind = kind;
      card.nleExtra = without(source, ["type", ...(KEYS[kind] || [])]);
      card.nleRaw = source;
      const title = card.querySelector("[data-title]");
      title.id = `${this.group}-b${++serial}`;
      title.textContent = body.dataset.title;
      card.querySelectorAll("[data-act]").forEach((button) => button.setAttribute("aria-describedby", title.id));
      const content = card.querySelector("[data-body]");
      content.append(body.content.cloneNode(true));
      content.querySelectorAll("[data-slot='bar']").forEach((el) => card.querySelector("[data-bar]").append(el));
      content.querySelectorAll("[data-rich]").forEach((slot) => this.rich(slot));
      this.fill(card, kind, source);
      this.refresh(card);
      return card;
    }

    rich(slot) {
      const box = this.template("[data-nle-rich]").content.firstElementChild.cloneNode(true);
      const editable = box.querySelector(".nle-text");
      editable.setAttribute("aria-label", slot.getAttribute("aria-label"));
      editable.dataset.placeholder = slot.dataset.placeholder;
      slot.replaceWith(box);
    }

    fill(card, kind, block) {
      const field = (name) => this.own(card, `[data-field="${name}"]`);
      const text = (value) => (typeof value === "string" || typeof value === "number" ? String(value) : "");
      switch (kind) {
        case "heading":
          field("text").textContent = text(block.text);
          field("level").value = [1, 2, 3].includes(block.level) ? String(block.level) : "2";
          break;
        case "text":
        case "footer":
          field("html").innerHTML = safeRichHtml(text(block.html));
          break;
        case "html":
          field("html").value = text(block.html);
          break;
        case "image":
          ["src", "alt", "href", "width"].forEach((name) => (field(name).value = text(block[name])));
          break;
        case "button":
          ["label", "href"].forEach((name) => (field(name).value = text(block[name])));
          field("align").value = ["left", "center", "right"].includes(block.align) ? block.align : "center";
          break;
        case "spacer":
          field("height").value = text(block.height);
          break;
        case "columns": {
          const columns = Array.isArray(block.columns) ? block.columns : [];
          const box = this.own(card, "[data-columns]");
          columns.slice(0, 3).forEach((column, index) => box.append(this.column(column, index)));
          this.setColumns(card, Math.min(Math.max(columns.length, 2), 3));
          break;
        }
        case "social":
          (Array.isArray(block.links) ? block.links : []).forEach((link) =>
            this.own(card, "[data-rows]").append(this.socialRow(link)),
          );
          break;
        case "unknown":
          this.own(card, "[data-raw]").textContent = JSON.stringify(block, null, 2);
          break;
        default:
      }
    }

    column(column, index) {
      const source = column && typeof column === "object" ? column : {};
      const box = document.createElement("div");
      box.className = "nle-column";
      box.setAttribute("role", "group");
      box.nleExtra = without(source, ["blocks"]);
      const list = document.createElement("ol");
      list.className = "nle-blocks nle-inner";
      list.dataset.nleBlocks = "";
      list.dataset.empty = this.texts.dropHere;
      (Array.isArray(source.blocks) ? source.blocks : []).forEach((block) => list.append(this.card(block)));
      const add = document.createElement("select");
      add.className = "nle-column-add";
      add.dataset.columnAdd = "";
      add.setAttribute("aria-label", this.texts.addToColumn);
      add.append(new Option(this.texts.addOption, ""));
      for (const [type, name] of Object.entries(this.names)) add.append(new Option(name, type));
      box.append(list, add);
      this.sortable(list, true);
      this.labelColumn(box, index);
      return box;
    }

    labelColumn(box, index) {
      box.setAttribute("aria-label", format(this.texts.column, { number: index + 1 }));
    }

    setColumns(card, count) {
      const box = this.own(card, "[data-columns]");
      while (box.children.length < count) box.append(this.column({ blocks: [] }, box.children.length));
      while (box.children.length > count) {
        // The blocks of a column taken away move to the one before it, never lost.
        const last = box.lastElementChild;
        const into = last.previousElementSibling.querySelector("ol");
        this.cards(last.querySelector("ol")).forEach((inner) => into.append(inner));
        const sortable = window.Sortable && window.Sortable.get(last.querySelector("ol"));
        if (sortable) sortable.destroy();
        last.remove();
      }
      [...box.children].forEach((column, index) => this.labelColumn(column, index));
      box.dataset.count = String(count);
      this.own(card, "[data-field='count']").value = String(count);
    }

    socialRow(link) {
      const row = this.template("[data-nle-social-row]").content.firstElementChild.cloneNode(true);
      const network = row.querySelector("[data-field='network']");
      const source = link && typeof link === "object" ? link : {};
      network.value = [...network.options].some((option) => option.value === source.network)
        ? source.network
        : "website";
      row.querySelector("[data-field='href']").value = typeof source.href === "string" ? source.href : "";
      row.nleExtra = without(source, ["network", "href"]);
      return row;
    }

    /* What a card shows besides its fields: the heading's size, the image, the button. */
    refresh(card) {
      const field = (name) => this.own(card, `[data-field="${name}"]`);
      this.ownAll(card, "[contenteditable][data-placeholder]").forEach((editable) => {
        editable.classList.toggle("is-empty", !editable.textContent && !editable.querySelector("li"));
      });
      switch (card.dataset.kind) {
        case "heading":
          field("text").dataset.level = field("level").value;
          break;
        case "image": {
          const img = this.own(card, "[data-view-img]");
          const src = field("src").value.trim();
          const width = wholeNumber(field("width").value);
          const shown = /^https?:\/\/\S+$/i.test(src);
          if (shown && img.getAttribute("src") !== src) img.src = src;
          img.hidden = !shown;
          img.alt = field("alt").value;
          img.style.width = typeof width === "number" && width > 0 ? `${Math.min(width, 600)}px` : "";
          this.own(card, "[data-view-empty]").hidden = shown;
          break;
        }
        case "button":
          this.own(card, "[data-view-label]").textContent = field("label").value;
          this.own(card, "[data-view]").dataset.align = field("align").value;
          break;
        case "social": {
          const view = this.own(card, "[data-view]");
          view.replaceChildren(
            ...this.ownAll(card, ".nle-social-row").map((row) => {
              const select = row.querySelector("[data-field='network']");
              const chip = document.createElement("li");
              chip.textContent = select.options[select.selectedIndex].text;
              chip.dataset.network = select.value;
              return chip;
            }),
          );
          break;
        }
        default:
      }
    }

    /* -- Reading the cards back --------------------------------------------------------------- */

    blocksOf(list) {
      return this.cards(list).map((card) => this.blockOf(card));
    }

    blockOf(card) {
      const field = (name) => this.own(card, `[data-field="${name}"]`);
      let block;
      switch (card.dataset.kind) {
        case "heading":
          block = {
            text: field("text").textContent.replace(/\u00a0/g, " ").replace(/\s+/g, " ").trim(),
            level: Number(field("level").value),
          };
          break;
        case "text":
        case "footer":
          block = { html: richHtml(field("html")) };
          break;
        case "html":
          block = { html: field("html").value };
          break;
        case "image": {
          block = { src: field("src").value.trim(), alt: field("alt").value, href: field("href").value.trim() };
          const width = wholeNumber(field("width").value);
          if (width !== null) block.width = width;
          break;
        }
        case "button":
          block = { label: field("label").value, href: field("href").value.trim(), align: field("align").value };
          break;
        case "divider":
          block = {};
          break;
        case "spacer": {
          const height = wholeNumber(field("height").value);
          block = height === null ? {} : { height };
          break;
        }
        case "columns":
          block = {
            columns: [...this.own(card, "[data-columns]").children].map((column) => ({
              ...column.nleExtra,
              blocks: this.blocksOf(column.querySelector("ol")),
            })),
          };
          break;
        case "social":
          block = {
            links: this.ownAll(card, ".nle-social-row").map((row) => ({
              ...row.nleExtra,
              network: row.querySelector("[data-field='network']").value,
              href: row.querySelector("[data-field='href']").value.trim(),
            })),
          };
          break;
        default:
          return card.nleRaw;
      }
      return { type: card.dataset.type, ...card.nleExtra, ...block };
    }

    content() {
      return { ...this.extra, blocks: this.blocksOf(this.list) };
    }

    sync() {
      const json = JSON.stringify(this.content());
      this.updateMoves();
      if (json === this.textarea.value) return;
      this.textarea.value = json;
      this.textarea.dispatchEvent(new Event("input", { bubbles: true }));
      this.schedulePreview();
    }

    updateMoves() {
      this.root.querySelectorAll("[data-nle-blocks]").forEach((list) => {
        const cards = this.cards(list);
        cards.forEach((card, index) => {
          const up = card.querySelector(":scope > .nle-bar [data-act='up']");
          const down = card.querySelector(":scope > .nle-bar [data-act='down']");
          up.setAttribute("aria-disabled", String(index === 0));
          down.setAttribute("aria-disabled", String(index === cards.length - 1));
        });
      });
    }

    /* -- Adding, moving, deleting ------------------------------------------------------------ */

    topLevel(card) {
      let top = card;
      while (top.parentElement !== this.list && top.parentElement) {
        top = top.parentElement.closest(".nle-block") || top.parentElement;
        if (!this.list.contains(top)) return null;
      }
      return top;
    }

    addFromPalette(item) {
      const type = item.dataset.type;
      const card = this.card(starter(type, Number(item.dataset.count)));
      let anchor = this.selected && this.list.contains(this.selected) ? this.selected : null;
      if (anchor && type === "columns") anchor = this.topLevel(anchor);
      if (anchor) anchor.after(card);
      else this.list.append(card);
      this.added(card);
    }

    addToColumn(select) {
      const type = select.value;
      select.value = "";
      if (!type) return;
      const card = this.card(starter(type));
      select.closest(".nle-column").querySelector("ol").append(card);
      this.added(card);
    }

    dropped(item) {
      const card = this.card(starter(item.dataset.type, Number(item.dataset.count)));
      item.replaceWith(card);
      this.added(card);
    }

    added(card) {
      this.select(card);
      const first = this.ownAll(card, FIELDS).find(
        (el) => !el.closest("[data-bar]") && !el.closest("[hidden]") && !el.matches("[data-column-add]"),
      );
      (first || card).focus();
      card.scrollIntoView({ block: "nearest" });
      this.say(format(this.texts.added, { block: this.title(card) }));
      this.sync();
    }

    move(card, step, button) {
      const list = card.parentElement;
      const cards = this.cards(list);
      const to = cards.indexOf(card) + step;
      if (to < 0 || to >= cards.length) return;
      if (step < 0) list.insertBefore(card, cards[to]);
      else cards[to].after(card);
      button.focus();
      this.say(format(this.texts.moved, { position: to + 1, count: cards.length }));
      this.sync();
    }

    remove(card) {
      const list = card.parentElement;
      const cards = this.cards(list);
      const index = cards.indexOf(card);
      const neighbour = cards[index + 1] || cards[index - 1];
      if (this.selected && card.contains(this.selected)) this.select(null);
      if (this.target && card.contains(this.target)) this.target = null;
      card.remove();
      const message = format(this.texts.deleted, { block: this.title(card) });
      this.undos.push({ card, list, next: cards[index + 1] || null, message });
      this.showUndo();
      this.say(message);
      if (neighbour) {
        this.select(neighbour);
        neighbour.focus();
      } else {
        const column = list.closest(".nle-column");
        (column ? column.querySelector("[data-column-add]") : this.palette.querySelector("button")).focus();
      }
      this.sync();
    }

    undo() {
      const last = this.undos.pop();
      if (!last) return;
      const { card, list, next } = last;
      if (next && next.parentElement === list) list.insertBefore(card, next);
      else if (this.list.contains(list) || list === this.list) list.append(card);
      else this.list.append(card);
      this.showUndo();
      this.select(card);
      card.focus();
      this.say(format(this.texts.restored, { block: this.title(card) }));
      this.sync();
    }

    showUndo() {
      const bar = this.root.querySelector("[data-nle-undo]");
      const last = this.undos[this.undos.length - 1];
      bar.hidden = !last;
      if (last) bar.querySelector("[data-nle-undo-text]").textContent = last.message;
    }

    select(card) {
      if (this.selected === card) return;
      if (this.selected) this.selected.classList.remove("is-selected");
      this.selected = card;
      if (card) card.classList.add("is-selected");
    }

    say(message) {
      // A live region announces a change of its text; the same text twice needs a reset.
      this.live.textContent = "";
      window.setTimeout(() => (this.live.textContent = message), 30);
    }

    lock() {
      this.root.classList.add("is-readonly");
      this.root.querySelectorAll("[contenteditable]").forEach((el) => el.setAttribute("contenteditable", "false"));
    }

    /* -- Dragging ------------------------------------------------------------------------------ */

    sortable(list, inner) {
      if (this.readonly || !window.Sortable) return;
      window.Sortable.create(list, {
        group: {
          name: this.group,
          pull: true,
          // No columns inside columns.
          put: inner ? (to, from, dragged) => dragged.dataset.type !== "columns" : true,
        },
        handle: ".nle-handle",
        draggable: ".nle-block",
        animation: 150,
        forceFallback: true,
        fallbackOnBody: true,
        fallbackTolerance: 3,
        swapThreshold: 0.65,
        emptyInsertThreshold: 24,
        ghostClass: "nle-ghost",
        chosenClass: "nle-chosen",
        dragClass: "nle-dragged",
        onAdd: (event) => {
          if (event.item.matches(".nle-add")) this.dropped(event.item);
        },
        onEnd: (event) => {
          if (event.item.matches(".nle-block")) {
            this.select(event.item);
            const cards = this.cards(event.item.parentElement);
            this.say(format(this.texts.moved, { position: cards.indexOf(event.item) + 1, count: cards.length }));
          }
          this.sync();
        },
      });
    }

    paletteSortable() {
      if (this.readonly || !window.Sortable) return;
      window.Sortable.create(this.palette, {
        group: { name: this.group, pull: "clone", put: false },
        sort: false,
        draggable: ".nle-add",
        forceFallback: true,
        fallbackOnBody: true,
        fallbackTolerance: 4,
        ghostClass: "nle-ghost",
        dragClass: "nle-dragged",
      });
    }

    /* -- Events ------------------------------------------------------------------------------- */

    wire() {
      const app = this.app;
      app.addEventListener("input", (event) => this.onInput(event));
      app.addEventListener("change", (event) => this.onChange(event));
      app.addEventListener("click", (event) => this.onClick(event));
      app.addEventListener("keydown", (event) => this.onKeydown(event));
      app.addEventListener("paste", (event) => this.onPaste(event));
      app.addEventListener("focusin", (event) => this.onFocus(event));
      app.addEventListener("pointerdown", (event) => {
        const card = event.target.closest(".nle-block");
        if (card) this.select(card);
      });
      // The formatting buttons keep the text's selection.
      app.addEventListener("mousedown", (event) => {
        if (event.target.closest("[data-cmd]")) event.preventDefault();
      });
      document.addEventListener("selectionchange", () => this.onSelection());
      document.addEventListener("click", (event) => {
        if (!event.target.closest("[data-nle-varmenu]")) this.menu(false);
      });
      if (this.textarea.form) this.textarea.form.addEventListener("submit", () => this.sync());
      this.root.querySelector("[data-nle-undo-button]").addEventListener("click", () => this.undo());
    }

    onInput(event) {
      const target = event.target;
      if (target.matches("[data-link-input]")) return;
      const card = target.closest(".nle-block");
      if (!card) return;
      if (target.matches(".nle-text")) this.seedParagraph(target);
      this.clearProblem(target);
      this.refresh(card);
      this.sync();
    }

    onChange(event) {
      const target = event.target;
      if (target.matches("[data-column-add]")) {
        this.addToColumn(target);
        return;
      }
      const card = target.closest(".nle-block");
      if (!card || target.matches("[data-link-input]")) return;
      if (target.matches("[data-field='count']")) this.setColumns(card, Number(target.value));
      this.clearProblem(target);
      this.refresh(card);
      this.sync();
    }

    onClick(event) {
      const target = event.target;
      const action = target.closest("[data-act]");
      if (action) {
        if (action.getAttribute("aria-disabled") === "true") return;
        const card = action.closest(".nle-block");
        if (action.dataset.act === "delete") this.remove(card);
        else this.move(card, action.dataset.act === "up" ? -1 : 1, action);
        return;
      }
      const add = target.closest(".nle-add button");
      if (add) {
        this.addFromPalette(add.closest(".nle-add"));
        return;
      }
      const card = target.closest(".nle-block");
      if (target.closest("[data-row-add]") && card) {
        const row = this.socialRow({ network: "website", href: "" });
        this.own(card, "[data-rows]").append(row);
        row.querySelector("select").focus();
        this.refresh(card);
        this.sync();
        return;
      }
      const removeRow = target.closest("[data-row-remove]");
      if (removeRow && card) {
        removeRow.closest(".nle-social-row").remove();
        this.own(card, "[data-row-add]").focus();
        this.refresh(card);
        this.sync();
        return;
      }
      const command = target.closest("[data-cmd]");
      if (command) {
        this.applyFormat(command);
        return;
      }
      const box = target.closest(".nle-rich");
      if (box && target.closest("[data-link-apply]")) this.applyLink(box);
      else if (box && target.closest("[data-link-remove]")) this.removeLink(box);
      else if (box && target.closest("[data-link-cancel]")) this.closeLink(box, true);
      else if (target.closest("[data-nle-varbutton]")) this.menu(this.root.querySelector("#nle-variables").hidden);
      else if (target.closest("[data-var]")) this.insertVariable(target.closest("[data-var]").dataset.var);
      else if (target.closest("[data-nle-preview-toggle]")) this.togglePreview();
      else if (target.closest("[data-nle-width]")) this.previewWidth(target.closest("[data-nle-width]").dataset.nleWidth);
    }

    onKeydown(event) {
      const target = event.target;
      if (target.closest("#nle-variables")) {
        this.menuKey(event);
        return;
      }
      if (event.key === "Escape" && target.matches("[data-link-input]")) {
        event.preventDefault();
        this.closeLink(target.closest(".nle-rich"), true);
        return;
      }
      if (event.key !== "Enter" || event.isComposing) {
        if ((event.ctrlKey || event.metaKey) && target.matches(".nle-heading") && /^[biu]$/i.test(event.key)) {
          event.preventDefault();
        }
        return;
      }
      // Enter never submits the page's form from the editor's fields.
      if (target.matches("[data-link-input]")) {
        event.preventDefault();
        this.applyLink(target.closest(".nle-rich"));
      } else if (target.matches("input, .nle-heading")) {
        event.preventDefault();
      }
    }

    onPaste(event) {
      const target = event.target.closest("[contenteditable='true']");
      if (!target || !event.clipboardData) return;
      // Pasted text comes as text: no fonts, colours or tables from elsewhere.
      event.preventDefault();
      let text = event.clipboardData.getData("text/plain");
      if (target.matches(".nle-heading")) text = text.replace(/\s+/g, " ");
      document.execCommand("insertText", false, text);
    }

    onFocus(event) {
      const target = event.target;
      const card = target.closest(".nle-block");
      if (card) this.select(card);
      if (target.matches("[data-nle-var]")) this.target = target;
      else if (target.matches(FIELDS) && !target.closest("[data-nle-varmenu]")) this.target = null;
      if (target.matches(".nle-text")) {
        document.execCommand("defaultParagraphSeparator", false, "p");
        this.seedParagraph(target);
      }
    }

    /* An empty text gets an empty paragraph to write in, so that every line the browser makes
       is a <p> as the cards are read back, never a bare first line. */
    seedParagraph(editable) {
      if (editable.textContent || editable.querySelector("p, li")) return;
      editable.innerHTML = "<p><br></p>";
      const range = document.createRange();
      range.setStart(editable.firstChild, 0);
      range.collapse(true);
      const selection = document.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }

    onSelection() {
      const selection = document.getSelection();
      if (!selection || !selection.rangeCount) return;
      const node = selection.anchorNode;
      const element = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
      const editable = element && element.closest("[contenteditable='true']");
      if (!editable || !this.app.contains(editable)) return;
      this.ranges.set(editable, selection.getRangeAt(0).cloneRange());
      const box = editable.closest(".nle-rich");
      if (!box) return;
      box.querySelectorAll("[data-cmd='bold'], [data-cmd='italic']").forEach((button) => {
        button.setAttribute("aria-pressed", String(document.queryCommandState(button.dataset.cmd)));
      });
    }

    /* -- Text formatting ---------------------------------------------------------------------- */

    restore(editable) {
      const range = this.ranges.get(editable);
      editable.focus();
      const selection = document.getSelection();
      selection.removeAllRanges();
      if (range && editable.contains(range.startContainer)) {
        selection.addRange(range);
      } else {
        const end = document.createRange();
        end.selectNodeContents(editable);
        end.collapse(false);
        selection.addRange(end);
      }
    }

    applyFormat(button) {
      const box = button.closest(".nle-rich");
      const editable = box.querySelector(".nle-text");
      if (button.dataset.cmd === "link") {
        this.openLink(box);
        return;
      }
      this.restore(editable);
      document.execCommand(button.dataset.cmd, false);
      this.onSelection();
    }

    linkAt(editable) {
      const range = this.ranges.get(editable);
      if (!range || !editable.contains(range.startContainer)) return null;
      const node = range.startContainer;
      const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
      const link = element && element.closest("a");
      return link && editable.contains(link) ? link : null;
    }

    openLink(box) {
      const editable = box.querySelector(".nle-text");
      const form = box.querySelector("[data-link-form]");
      const link = this.linkAt(editable);
      const input = form.querySelector("[data-link-input]");
      input.value = link ? link.getAttribute("href") || "" : "";
      form.querySelector("[data-link-remove]").hidden = !link;
      form.hidden = false;
      box.querySelector("[data-cmd='link']").setAttribute("aria-expanded", "true");
      input.focus();
    }

    closeLink(box, focusText) {
      box.querySelector("[data-link-form]").hidden = true;
      box.querySelector("[data-cmd='link']").setAttribute("aria-expanded", "false");
      if (focusText) this.restore(box.querySelector(".nle-text"));
    }

    applyLink(box) {
      const editable = box.querySelector(".nle-text");
      const href = safeHref(box.querySelector("[data-link-input]").value);
      const link = this.linkAt(editable);
      this.closeLink(box, true);
      if (!href) {
        if (link) this.unlink(link);
      } else if (link) {
        link.setAttribute("href", href);
      } else if (document.getSelection().isCollapsed) {
        document.execCommand("insertHTML", false, `<a href="${escapeAttribute(href)}">${escapeText(href)}</a>`);
      } else {
        document.execCommand("createLink", false, href);
      }
      this.sync();
    }

    removeLink(box) {
      const link = this.linkAt(box.querySelector(".nle-text"));
      this.closeLink(box, true);
      if (link) this.unlink(link);
      this.sync();
    }

    unlink(link) {
      const range = document.createRange();
      range.selectNodeContents(link);
      const selection = document.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("unlink", false);
    }

    /* -- Variables ------------------------------------------------------------------------------ */

    menu(open) {
      const panel = this.root.querySelector("#nle-variables");
      const button = this.root.querySelector("[data-nle-varbutton]");
      if (!panel || panel.hidden === !open) return;
      panel.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      panel.classList.toggle("is-without-target", open && !(this.target && this.target.isConnected));
      if (open) {
        const first = panel.querySelector("[role='menuitem']");
        if (first) first.focus();
      }
    }

    menuKey(event) {
      const items = [...this.root.querySelectorAll("#nle-variables [role='menuitem']")];
      const index = items.indexOf(document.activeElement);
      const go = (to) => {
        event.preventDefault();
        if (items.length) items[(to + items.length) % items.length].focus();
      };
      if (event.key === "ArrowDown") go(index + 1);
      else if (event.key === "ArrowUp") go(index - 1);
      else if (event.key === "Home") go(0);
      else if (event.key === "End") go(items.length - 1);
      else if (event.key === "Escape" || event.key === "Tab") {
        if (event.key === "Escape") event.preventDefault();
        this.menu(false);
        this.root.querySelector("[data-nle-varbutton]").focus();
      }
    }

    insertVariable(key) {
      this.menu(false);
      const field = this.target;
      if (!field || !field.isConnected) {
        this.say(this.texts.noTarget);
        this.root.querySelector("[data-nle-varbutton]").focus();
        return;
      }
      const token = `{{ ${key} }}`;
      if (field.isContentEditable) {
        this.restore(field);
        document.execCommand("insertText", false, token);
      } else {
        field.focus();
        const start = field.selectionStart ?? field.value.length;
        field.setRangeText(token, start, field.selectionEnd ?? start, "end");
        field.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }

    /* -- Preview -------------------------------------------------------------------------------- */

    preview() {
      this.previewBox = this.root.querySelector("[data-nle-preview]");
      if (!this.previewBox) return;
      this.frame = this.previewBox.querySelector("[data-nle-frame]");
      this.iframe = this.previewBox.querySelector("[data-nle-iframe]");
      this.iframe.addEventListener("load", () => this.fit());
      let room = 0;
      if (window.ResizeObserver) {
        new ResizeObserver(() => {
          if (this.frame.clientWidth !== room) this.fit();
          room = this.frame.clientWidth;
        }).observe(this.frame);
      }
    }

    togglePreview() {
      const open = this.previewBox.hidden;
      this.previewBox.hidden = !open;
      this.root.querySelector("[data-nle-preview-toggle]").setAttribute("aria-pressed", String(open));
      this.root.querySelector("[data-nle-body]").classList.toggle("is-previewing", open);
      if (open) this.updatePreview();
      else window.clearTimeout(this.previewTimer);
    }

    previewWidth(width) {
      this.frame.dataset.width = width;
      this.previewBox.querySelectorAll("[data-nle-width]").forEach((button) => {
        button.setAttribute("aria-pressed", String(button.dataset.nleWidth === width));
      });
      this.fit();
    }

    schedulePreview() {
      if (!this.previewBox || this.previewBox.hidden) return;
      window.clearTimeout(this.previewTimer);
      this.previewTimer = window.setTimeout(() => this.updatePreview(), PREVIEW_DELAY_MS);
    }

    async updatePreview() {
      if (this.previewRequest) this.previewRequest.abort();
      const request = (this.previewRequest = new AbortController());
      const status = this.previewBox.querySelector("[data-nle-preview-status]");
      const csrf = this.root.dataset.csrf;
      const body = new FormData();
      body.append("content", this.textarea.value);
      body.append("csrfmiddlewaretoken", csrf);
      status.textContent = this.texts.updating;
      this.frame.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(this.root.dataset.previewUrl, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrf },
          signal: request.signal,
        });
        if (!response.ok) throw new Error(String(response.status));
        const html = await response.text();
        if (request !== this.previewRequest) return;
        this.iframe.srcdoc = html;
        status.textContent = "";
      } catch (error) {
        if (error.name !== "AbortError") status.textContent = this.texts.previewFailed;
      } finally {
        if (request === this.previewRequest) this.frame.removeAttribute("aria-busy");
      }
    }

    /* The email at its own width (desktop or phone), shrunk to the pane when the pane is
       narrower, as tall as it is. */
    fit() {
      if (!this.iframe || this.previewBox.hidden) return;
      const width = PREVIEW_WIDTHS[this.frame.dataset.width] || PREVIEW_WIDTHS.desktop;
      const doc = this.iframe.contentDocument;
      const room = this.frame.clientWidth;
      if (!room) return;
      const scale = Math.min(1, room / width);
      this.iframe.style.width = `${width}px`;
      let height = 400;
      if (doc && doc.documentElement) {
        this.iframe.style.height = "0px";
        height = Math.max(doc.documentElement.scrollHeight, doc.body ? doc.body.scrollHeight : 0, 200);
      }
      this.iframe.style.height = `${height}px`;
      this.iframe.style.transform = scale < 1 ? `scale(${scale})` : "";
      this.frame.style.height = `${Math.ceil(height * scale)}px`;
    }

    /* -- Problems the server found ----------------------------------------------------------- */

    showProblems(problems) {
      const entries = Array.isArray(problems)
        ? problems.map((problem) => [problem.field, problem.message])
        : Object.entries(problems || {}).flatMap(([field, messages]) =>
            (Array.isArray(messages) ? messages : [messages]).map((message) => [field, message]),
          );
      for (const [path, message] of entries) {
        const found = this.locate(String(path || ""));
        if (!found) continue;
        const { card, field } = found;
        const list = card.querySelector(":scope > [data-problems]");
        const item = document.createElement("li");
        item.className = "error";
        item.id = `${this.group}-p${++serial}`;
        item.textContent = message;
        list.append(item);
        list.hidden = false;
        card.classList.add("has-problem");
        if (field) {
          item.nleField = field;
          field.setAttribute("aria-invalid", "true");
          const described = field.getAttribute("aria-describedby");
          field.setAttribute("aria-describedby", described ? `${described} ${item.id}` : item.id);
        }
      }
    }

    /* The card, and its field if the path names one, of "content.blocks.2.columns.0.blocks.1.href". */
    locate(path) {
      const parts = path.split(".");
      if (parts[0] === "content") parts.shift();
      if (parts.shift() !== "blocks") return null;
      let list = this.list;
      let card = null;
      while (parts.length && /^\d+$/.test(parts[0])) {
        card = this.cards(list)[Number(parts.shift())];
        if (!card) return null;
        if (parts[0] === "columns" && /^\d+$/.test(parts[1] || "") && parts[2] === "blocks" && /^\d+$/.test(parts[3] || "")) {
          const column = this.own(card, "[data-columns]").children[Number(parts[1])];
          if (!column) break;
          list = column.querySelector("ol");
          parts.splice(0, 3);
        } else {
          break;
        }
      }
      if (!card) return null;
      let field = null;
      if (parts[0] === "links" && /^\d+$/.test(parts[1] || "")) {
        const row = this.ownAll(card, ".nle-social-row")[Number(parts[1])];
        field = row ? row.querySelector(`[data-field="${parts[2] || "href"}"]`) : null;
      } else if (parts[0]) {
        field = this.own(card, `[data-field="${CSS.escape(parts[0])}"]`);
      }
      return { card, field };
    }

    clearProblem(field) {
      if (field.getAttribute("aria-invalid") !== "true") return;
      field.removeAttribute("aria-invalid");
      const card = field.closest(".nle-block");
      const list = card.querySelector(":scope > [data-problems]");
      [...list.children].filter((item) => item.nleField === field).forEach((item) => item.remove());
      if (!list.children.length) {
        list.hidden = true;
        card.classList.remove("has-problem");
      }
    }
  }

  function start() {
    document.querySelectorAll("[data-nle]").forEach((root) => {
      if (!root.nleEditor && !root.dataset.nleStarted) {
        root.dataset.nleStarted = "true";
        new Editor(root);
      }
    });
  }

  window.PanelNewsletterEditor = { start, richHtml: (html) => safeRichHtml(html) };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
