/**
 * The SQL editor: CodeMirror 6 with DuckDB-flavoured SQL highlighting and completion of the
 * query tables and their columns. Loaded on first use (a separate chunk), so the other views
 * do not pay for it.
 */
import { autocompletion, closeBrackets } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { PostgreSQL, sql } from '@codemirror/lang-sql';
import {
  bracketMatching,
  defaultHighlightStyle,
  HighlightStyle,
  syntaxHighlighting,
} from '@codemirror/language';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, placeholder } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { useEffect, useRef } from 'preact/hooks';

const darkHighlight = HighlightStyle.define([
  { tag: tags.keyword, color: '#c792ea' },
  { tag: [tags.string, tags.special(tags.string)], color: '#c3e88d' },
  { tag: [tags.number, tags.bool, tags.null], color: '#f78c6c' },
  { tag: tags.comment, color: '#7f8c98', fontStyle: 'italic' },
  { tag: [tags.name, tags.propertyName], color: '#e6edf3' },
  { tag: tags.operator, color: '#89ddff' },
  { tag: tags.typeName, color: '#ffcb6b' },
]);

/** Props of the editor. */
export interface SqlEditorProps {
  /** The text at mount. */
  readonly value: string;
  /**
   * A text set from outside (a table picked, a link followed): replaces the editor's text when
   * `n` changes. Echoes of typing never come back through here: feeding them back as `value`
   * lagged behind fast typing and two stale echoes could replace each other forever.
   */
  readonly replace?: { readonly text: string; readonly n: number };
  readonly onChange: (sql: string) => void;
  readonly onRun: () => void;
  /** Table name → column names, for completion. */
  readonly schema: Readonly<Record<string, readonly string[]>>;
  readonly dark: boolean;
}

/** The editor (uncontrolled after mount: only `replace` changes its text from outside). */
export function SqlEditor(p: SqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const lang = useRef(new Compartment());
  const look = useRef(new Compartment());
  const cb = useRef(p);
  cb.current = p;
  useEffect(() => {
    if (!host.current) return;
    const runQuery = (): boolean => {
      cb.current.onRun();
      return true;
    };
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: p.value,
        extensions: [
          lineNumbers(),
          history(),
          closeBrackets(),
          bracketMatching(),
          autocompletion({ activateOnTyping: true }),
          keymap.of([
            { key: 'Mod-Enter', run: runQuery },
            { key: 'Shift-Enter', run: runQuery },
            ...defaultKeymap,
            ...historyKeymap,
          ]),
          lang.current.of(sql({ dialect: PostgreSQL, schema: toSchema(p.schema), upperCaseKeywords: true })),
          look.current.of(syntaxHighlighting(p.dark ? darkHighlight : defaultHighlightStyle)),
          placeholder('SELECT … (Ctrl-Enter runs it)'),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'SQL query' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) cb.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
  }, []);
  useEffect(() => {
    view.current?.dispatch({
      effects: lang.current.reconfigure(
        sql({ dialect: PostgreSQL, schema: toSchema(p.schema), upperCaseKeywords: true }),
      ),
    });
  }, [p.schema]);
  useEffect(() => {
    view.current?.dispatch({
      effects: look.current.reconfigure(syntaxHighlighting(p.dark ? darkHighlight : defaultHighlightStyle)),
    });
  }, [p.dark]);
  useEffect(() => {
    const v = view.current;
    const text = p.replace?.text;
    if (v && text !== undefined && v.state.doc.toString() !== text)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text } });
  }, [p.replace?.n]);
  return <div class="sql-editor" ref={host} />;
}

function toSchema(s: Readonly<Record<string, readonly string[]>>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, [...v]]));
}
