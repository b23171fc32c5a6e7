//! The messages report as a spreadsheet for people: Russian headers, numbers as numbers, shares
//! as percentages, the header row frozen and filterable.

use feedback_core::analytics::{report_rows, Cell, MessagesReport, REPORT_COLUMNS};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The column of the group's key, named by what the report is grouped by.
fn key_header(group_by: &str) -> &'static str {
    match group_by {
        "category" => "Категория (код)",
        "municipality" => "Муниципалитет (код)",
        "authority" => "Ведомство (код)",
        "status" => "Статус",
        "day" => "День",
        _ => "Код",
    }
}

/// The workbook of one report: a sheet «Сообщения» with a title row naming the period.
pub fn workbook(report: &MessagesReport) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Сообщения")?;
    let bold = Format::new().set_bold();
    let header = Format::new().set_bold().set_text_wrap();
    let hours = Format::new().set_num_format("0.0");
    let rating = Format::new().set_num_format("0.00");
    let share = Format::new().set_num_format("0.0%");
    let title =
        format!("Показатели сообщений с {} по {}", report.from.format("%d.%m.%Y"), report.to.format("%d.%m.%Y"));
    sheet.write_string_with_format(0, 0, &title, &bold)?;
    let top = 2u32;
    for (col, (machine, russian)) in (0u16..).zip(REPORT_COLUMNS.iter()) {
        let text = if *machine == "key" { key_header(report.group_by) } else { russian };
        sheet.write_string_with_format(top, col, text, &header)?;
        sheet.set_column_width(col, if col < 2 { 28 } else { 14 })?;
    }
    let rows = report_rows(&report.groups);
    for (row, cells) in (top + 1..).zip(rows.iter()) {
        for (col, ((machine, _), cell)) in (0u16..).zip(REPORT_COLUMNS.iter().zip(cells.iter())) {
            match cell {
                Cell::Text(t) => {
                    sheet.write_string(row, col, t)?;
                }
                Cell::Count(n) => {
                    sheet.write_number(row, col, *n as f64)?;
                }
                Cell::Figure(x) => {
                    let format = match *machine {
                        "rating_4_5_share" => &share,
                        "rating_avg" => &rating,
                        _ => &hours,
                    };
                    sheet.write_number_with_format(row, col, *x, format)?;
                }
                Cell::Empty => {}
            }
        }
    }
    let last = top + rows.len() as u32;
    sheet.set_freeze_panes(top + 1, 0)?;
    sheet.autofilter(top, 0, last, (REPORT_COLUMNS.len() - 1) as u16)?;
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use feedback_core::analytics::GroupStats;

    fn group(key: &str, name: &str, submitted: i64, share: Option<f64>) -> GroupStats {
        GroupStats {
            key: key.into(),
            name: Some(name.into()),
            submitted,
            routed: submitted,
            answered: 2,
            answered_on_time: 1,
            overdue: 0,
            rejected: 0,
            closed: 1,
            reopened: 0,
            avg_response_hours: Some(26.5),
            rating_avg: share.map(|_| 4.5),
            rating_count: 2,
            rating_4_5_share: share,
            supporters: 4,
            messages: None,
        }
    }

    #[test]
    fn the_spreadsheet_reads_back_with_russian_headers_and_numbers() {
        let report = MessagesReport {
            from: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            to: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            group_by: "category",
            groups: vec![group("dorogi-yamy", "Ямы на дорогах", 7, Some(0.5)), group("svet", "Освещение", 3, None)],
            counted_as_of: chrono::DateTime::UNIX_EPOCH,
        };
        let bytes = workbook(&report).unwrap();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), vec!["Сообщения".to_owned()]);
        let range = book.worksheet_range("Сообщения").unwrap();
        let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(cell(0, 0), Data::String("Показатели сообщений с 01.11.2026 по 30.11.2026".into()));
        assert_eq!(cell(2, 0), Data::String("Категория (код)".into()));
        assert_eq!(cell(2, 2), Data::String("Подано".into()));
        assert_eq!(cell(2, 13), Data::String("Доля оценок 4–5".into()));
        assert_eq!(cell(3, 1), Data::String("Ямы на дорогах".into()));
        assert_eq!(cell(3, 2), Data::Float(7.0));
        assert_eq!(cell(3, 10), Data::Float(26.5));
        assert_eq!(cell(3, 13), Data::Float(0.5));
        assert_eq!(cell(4, 0), Data::String("svet".into()));
        assert_eq!(cell(4, 13), Data::Empty, "no ratings, no share");
        assert_eq!((cell(2, 14), cell(4, 14)), (Data::String("Поддержали («Я тоже»)".into()), Data::Float(4.0)));
        assert_eq!(range.height(), 5);
    }
}
