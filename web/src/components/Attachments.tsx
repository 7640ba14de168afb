import { useState } from "preact/hooks";
import { formatBytes, label, t } from "../i18n";
import { sha256Hex } from "../hash";
import { EVIDENCE_KINDS } from "../vocab";

export interface Capture {
  file: File;
  sha256: string;
  kind: string;
  capturedAt: string;
  progress: number; // 0..1 while sending
}

export function kindOf(file: File): string {
  if (file.type.startsWith("image/")) return "photo";
  if (file.type.startsWith("audio/")) return "audio";
  if (file.type.startsWith("video/")) return "video";
  if (file.type === "application/pdf" || file.type.includes("document")) return "document";
  return "other";
}

/** Files chosen on the phone, each hashed at once (the hash the server must match). */
export function Attachments(props: { items: Capture[]; onChange(items: Capture[]): void }) {
  const [hashing, setHashing] = useState(false);

  async function add(e: Event) {
    const input = e.target as HTMLInputElement;
    const files = Array.from(input.files ?? []);
    setHashing(true);
    const captured = await Promise.all(
      files.map(async (file) => ({
        file,
        sha256: await sha256Hex(file),
        kind: kindOf(file),
        capturedAt: new Date().toISOString(),
        progress: 0,
      })),
    );
    setHashing(false);
    input.value = "";
    props.onChange([...props.items, ...captured]);
  }

  return (
    <fieldset>
      <legend>{t("files.legend")}</legend>
      <label class="file-button">
        {t("files.add")}
        <input
          type="file"
          multiple
          accept="image/*,audio/*,video/*,application/pdf,.doc,.docx,.odt,.txt,.csv"
          onChange={add}
        />
      </label>
      {hashing && <p role="status">{t("files.hashing")}</p>}
      <ul class="files">
        {props.items.map((c, i) => (
          <li key={c.sha256 + i}>
            <div>
              <strong>{c.file.name}</strong> · {formatBytes(c.file.size)}
            </div>
            <label>
              {t("files.kind")}
              <select
                value={c.kind}
                onChange={(e) =>
                  props.onChange(
                    props.items.map((x, j) => (j === i ? { ...x, kind: (e.target as HTMLSelectElement).value } : x)),
                  )
                }
              >
                {EVIDENCE_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {label("evidence", k)}
                  </option>
                ))}
              </select>
            </label>
            <code class="hash" dir="ltr" title={t("files.sha256")}>
              SHA-256 {c.sha256.slice(0, 16)}…
            </code>
            {c.progress > 0 && (
              <progress max={1} value={c.progress} aria-label={t("files.progress", { name: c.file.name })} />
            )}
            <button
              type="button"
              class="link"
              onClick={() => props.onChange(props.items.filter((_, j) => j !== i))}
            >
              {t("files.remove")}
            </button>
          </li>
        ))}
      </ul>
    </fieldset>
  );
}
