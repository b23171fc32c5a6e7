// «Рейтинг ведомств»: the public authority scorecards of the last 12 months, for anyone, signed
// in or not. Every figure is shown with the number it is counted from and explained in words;
// authorities with too few answers are listed, but not ranked.

import { api, type Schemas } from "../api";
import { fmtDate, pct } from "../format";
import { ErrorBox, Loading, Page, useLoad } from "../ui";

type Card = Schemas["Scorecard"];
type Share = Schemas["Proportion"];

/** A share with its 95 % interval and its base, e.g. «82 % (74–88 %), из 120». */
function ShareCell(props: { share: Share; of: string }) {
  const s = props.share;
  if (!s.n) return <td>нет данных</td>;
  return (
    <td>
      <strong>{pct(s.share)}</strong>
      <br />
      <small>
        {pct(s.ci_low)}–{pct(s.ci_high)}, {s.count} из {s.n} {props.of}
      </small>
    </td>
  );
}

function Median(props: { card: Card }) {
  const m = props.card.median_working_days;
  if (!m.n) return <td>нет данных</td>;
  const value = m.value != null ? String(m.value).replace(".", ",") : `больше ${m.more_than}`;
  return (
    <td>
      <strong>{value}</strong>
      <br />
      <small>по {m.n} первым ответам</small>
    </td>
  );
}

export function ScorecardsPage() {
  const { data, error, loading, reload } = useLoad(() => api.get("/v1/public/authorities"), []);
  const lead = data ? `Как ведомства отвечали жителям с ${fmtDate(data.from)} по ${fmtDate(data.to)}. Данные обновляются каждые несколько минут.` : undefined;
  return (
    <Page title="Рейтинг ведомств" lead={lead}>
      {loading && !data && <Loading />}
      {error && (
        <>
          <ErrorBox error={error} />
          <button class="btn btn-secondary" onClick={reload}>
            Повторить
          </button>
        </>
      )}
      {data && (
        <>
          <section class="panel" aria-labelledby="how-h">
            <h2 id="how-h">Как читать таблицу</h2>
            <dl class="explanations" data-testid="scorecard-explanations">
              {data.explanations.map((e) => (
                <div key={e.field}>
                  <dt>{TERMS[e.field] ?? e.field}</dt>
                  <dd>{e.text}</dd>
                </div>
              ))}
            </dl>
          </section>
          <section class="panel" aria-labelledby="table-h">
            <h2 id="table-h">Ведомства</h2>
            <div class="table-scroll" tabIndex={0} role="region" aria-label="Таблица рейтинга">
              <table class="table scorecards" data-testid="scorecards-table">
                <caption>
                  Все ведомства региона ({data.items.length}): сначала в порядке рейтинга, затем те, у кого меньше {data.min_answered} ответов. Под долей — 95-процентный интервал и число, из которого она посчитана.
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Место</th>
                    <th scope="col">Ведомство</th>
                    <th scope="col">Ответов</th>
                    <th scope="col">В срок</th>
                    <th scope="col">Медиана, рабочих дней до ответа</th>
                    <th scope="col">Возобновлено</th>
                    <th scope="col">Оценки 4–5</th>
                    <th scope="col">Отписки</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((c) => (
                    <tr key={c.authority_id} data-testid={`scorecard-${c.authority_id}`}>
                      <td>{c.rank ?? <span class="badge badge-few">{c.standing_ru}</span>}</td>
                      <th scope="row">{c.name || c.authority_id}</th>
                      <td>{c.answered}</td>
                      <ShareCell share={c.on_time} of="ответов" />
                      <Median card={c} />
                      <ShareCell share={c.reopened} of="ответов" />
                      <ShareCell share={c.rating_4_5} of="оценок" />
                      <td>{c.formal_replies_likely ? `вероятны: ${c.formal_reply_reasons.join("; ")}` : "нет признаков"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section class="panel" aria-labelledby="open-h">
            <h2 id="open-h">Открытые данные</h2>
            <p>
              Публичные сообщения за 12 месяцев без авторов и текстов, с местом по публичной сетке (где в узле сетки, категории и месяце меньше 5 сообщений — только муниципалитет). Лицензия CC BY 4.0.
            </p>
            <ul>
              <li>
                <a href="/v1/open-data/messages.csv" download>
                  Таблица CSV
                </a>
              </li>
              <li>
                <a href="/v1/open-data/messages.geojson" download>
                  Точки GeoJSON
                </a>
              </li>
              <li>
                <a href="/v1/open-data/datapackage.json">Описание полей (Frictionless Data Package)</a>
              </li>
            </ul>
          </section>
        </>
      )}
    </Page>
  );
}

/** The figures' names as the table's columns call them. */
const TERMS: Record<string, string> = {
  answered: "Ответов",
  on_time: "В срок",
  rank: "Место",
  median_working_days: "Медиана рабочих дней",
  reopened: "Возобновлено",
  rating_4_5: "Оценки 4–5",
  formal_replies_likely: "Отписки",
};
