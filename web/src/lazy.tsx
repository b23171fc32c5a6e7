// Pages whose code loads on their first visit, in a chunk of its own: what only staff open stays
// out of the script every resident downloads.

import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Loading, Page } from "./ui";

/** A component that loads the module `load` once, shows a spinner meanwhile, then renders
 * `render(module)`. A failed load (no network) says so and lets the person try again. */
export function lazyModule<M>(load: () => Promise<M>) {
  let loaded: M | null = null;
  let pending: Promise<M> | null = null;
  return function Lazy(props: { render: (m: M) => ComponentChildren }) {
    const [mod, setMod] = useState<M | null>(loaded);
    const [failed, setFailed] = useState(false);
    const [attempt, setAttempt] = useState(0);
    useEffect(() => {
      if (mod) return;
      let live = true;
      pending ??= load();
      pending.then(
        (m) => {
          loaded = m;
          if (live) setMod(m);
        },
        () => {
          pending = null;
          if (live) setFailed(true);
        },
      );
      return () => {
        live = false;
      };
    }, [attempt]);
    if (failed) {
      return (
        <Page title="Страница не загрузилась">
          <p>Проверьте подключение к интернету.</p>
          <button
            class="btn btn-secondary"
            onClick={() => {
              setFailed(false);
              setAttempt(attempt + 1);
            }}
          >
            Повторить
          </button>
        </Page>
      );
    }
    return mod ? <>{props.render(mod)}</> : <Loading />;
  };
}
