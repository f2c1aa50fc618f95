/* examples/admin-page/admin.js: load porter's plugin.json and an example
 * config, render the config_schema with json-editor, and on Save show the
 * JSON a host would hand porter.
 *
 * ?test=1 is the mode tests/admin_page drives: once the form is up it adds a
 * reader row the way an admin would (the row's "add" button, then an id
 * typed in), saves, and writes what the form shows into #report so a
 * headless browser's DOM dump carries it. */
"use strict";

var testMode = new URLSearchParams(window.location.search).get("test") === "1";

function fetchJson(url) {
  return fetch(url, { cache: "no-store" }).then(function (response) {
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  });
}

/* What the admin sees for one field: its title, its description, and the
 * value in its input, all read back from the page itself. */
function describeField(holder) {
  var label = holder.querySelector(":scope > label, :scope > h3 > span, :scope > div > label");
  var description = holder.querySelector(":scope > p, :scope > div > p");
  var input = holder.querySelector(":scope > input, :scope > select, :scope > div > input, :scope > div > select");
  var shown = null;
  /* A list shows its chosen option's text (true/false for a yes/no field). */
  if (input && input.tagName === "SELECT")
    shown = input.selectedIndex >= 0 ? input.options[input.selectedIndex].text : "";
  else if (input)
    shown = input.value;
  return {
    path: holder.getAttribute("data-schemapath"),
    title: label ? label.textContent.trim() : null,
    description: description ? description.textContent.trim() : null,
    shown: shown,
  };
}

/* A field that may be a number or null ("type": ["integer", "null"]) gets a
 * switch between the two; json-editor names its choices after the types.
 * Say what they mean instead, and keep the field's description visible
 * whichever is chosen (json-editor shows it inside the number input only). */
var USE_DEFAULT = "Use the default";
function explainNullChoices() {
  document.querySelectorAll("#form [data-schemapath] > select").forEach(function (select) {
    var values = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (values.indexOf("null") < 0 || select.name) return; /* a value list has a name; a switch not */
    Array.prototype.forEach.call(select.options, function (option) {
      option.text = option.value === "null" ? USE_DEFAULT : "Set a value";
    });
    var holder = select.parentNode;
    var inner = holder.querySelector("[data-schematype] p");
    if (inner && !holder.querySelector(":scope > p.null-choice")) {
      var p = document.createElement("p");
      p.className = "null-choice";
      p.textContent = inner.textContent;
      select.insertAdjacentElement("afterend", p);
    }
  });
}

function report(editor, extra) {
  var fields = [];
  document.querySelectorAll("#form [data-schemapath]").forEach(function (holder) {
    fields.push(describeField(holder));
  });
  extra.fields = fields;
  var out = document.getElementById("report");
  out.textContent = JSON.stringify(extra);
}

/* Settings of the backends not chosen are left out of what is saved:
 * "webhook" and "nexudus" are only read when "backend" names them. */
var BACKEND_SECTIONS = ["webhook", "nexudus"];

function save(editor) {
  var value = editor.getValue();
  BACKEND_SECTIONS.forEach(function (name) {
    if (value.backend !== name) delete value[name];
  });
  /* With an argument json-editor validates now; without, it returns the
   * result of its last change event, which may not have run yet. */
  var errors = editor.validate(value);
  document.getElementById("errors").textContent = errors.length
    ? "Not saved: " + errors.map(function (e) { return e.path + ": " + e.message; }).join("\n")
    : "";
  document.getElementById("saved").textContent = errors.length ? "" : JSON.stringify(value, null, 2);
  return { errors: errors, value: value };
}

function addReaderRow(editor) {
  var readers = editor.getEditor("root.readers");
  var before = readers.getValue().length;
  readers.add_row_button.click();
  var id = editor.getEditor("root.readers." + before + ".id");
  id.setValue("side-door");
  return before;
}

Promise.all([fetchJson("plugin.json"), fetchJson("example-config.json")])
  .then(function (loaded) {
    var manifest = loaded[0], example = loaded[1];
    var editor = new JSONEditor(document.getElementById("form"), {
      schema: manifest.config_schema,
      theme: "html",
      disable_edit_json: true,
      disable_properties: true,
      disable_array_reorder: true,
      prompt_before_delete: false,
      show_errors: "always",
      no_additional_properties: true,
      /* An empty field (a display text, say) is left out of the saved
       * JSON, so porter uses its default instead of refusing "". */
      remove_empty_properties: true,
    });
    /* Rows added later get their switches explained too. */
    editor.on("change", explainNullChoices);
    editor.on("ready", function () {
      /* Properties the example config leaves out are shown with their
       * defaults (json-editor would otherwise hide them). */
      editor.root.setValue(example, true);
      explainNullChoices();
      var button = document.getElementById("save");
      document.getElementById("status").textContent =
        manifest.name + " " + manifest.version + ": fields left as they are keep the value shown.";
      button.disabled = false;
      button.addEventListener("click", function () { save(editor); });
      if (!testMode) return;
      var row = addReaderRow(editor);
      /* json-editor applies a change on its next tick: save after it. */
      window.setTimeout(function () {
        explainNullChoices();
        button.click();
        var result = save(editor);
        report(editor, { added_row: row, errors: result.errors, saved: result.value });
      }, 100);
    });
  })
  .catch(function (err) {
    document.getElementById("status").textContent = "Could not load the form: " + err.message;
    document.getElementById("report").textContent = JSON.stringify({ load_error: err.message });
  });
