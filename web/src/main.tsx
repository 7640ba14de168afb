import { render } from "preact";
import { App } from "./app";
import { applyDocumentLanguage, lang } from "./i18n";
import { loadMe, sendOutbox } from "./session";
import "./styles.css";

applyDocumentLanguage(lang.get());
if ("serviceWorker" in navigator) {
  void navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
}
const root = document.getElementById("app") as HTMLElement;
root.textContent = "";
render(<App />, root);
void loadMe().then(() => sendOutbox());
