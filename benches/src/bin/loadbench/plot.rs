//! SVG plots of a throughput section: requests per second and CPU per request per server,
//! and latency percentiles.

use crate::measure::Row;
use plotters::prelude::*;
use std::path::Path;

type Failed = Box<dyn std::error::Error>;

const COLORS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// Two bar charts side by side: req/s and CPU microseconds per request.
pub(crate) fn throughput(path: &Path, title: &str, rows: &[Row]) -> Result<(), Failed> {
    let root = SVGBackend::new(path, (960, 380)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 18))?;
    let (left, right) = root.split_horizontally(480);
    bars(&left, "requests per second", rows, Row::rps)?;
    bars(&right, "server CPU µs per request", rows, Row::cpu_us)?;
    root.present()?;
    Ok(())
}

fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    what: &str,
    rows: &[Row],
    figure: fn(&Row) -> f64,
) -> Result<(), Failed>
where
    DB::ErrorType: 'static,
{
    let values: Vec<f64> = rows
        .iter()
        .map(figure)
        .map(|v| if v.is_finite() { v } else { 0.0 })
        .collect();
    let top = values.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.15;
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(what, ("sans-serif", 14))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        // A range of n includes its end: n - 1 gives one segment per row.
        .build_cartesian_2d((0..rows.len().max(2) - 1).into_segmented(), 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(rows.len())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    chart.draw_series(values.iter().enumerate().map(|(i, v)| {
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), *v),
            ],
            COLORS[i % COLORS.len()].filled(),
        );
        bar.set_margin(0, 0, 10, 10);
        bar
    }))?;
    Ok(())
}

/// Latency at the 50th, 75th, 90th and 99th percentiles, a line per server (log scale).
pub(crate) fn latency(path: &Path, title: &str, rows: &[Row]) -> Result<(), Failed> {
    let pct = [50.0, 75.0, 90.0, 99.0];
    let points: Vec<Vec<(f64, f64)>> = rows
        .iter()
        .map(|r| {
            pct.iter()
                .enumerate()
                .map(|(i, p)| (*p, r.latency_us(i).max(1.0)))
                .collect()
        })
        .collect();
    let all = || points.iter().flatten().map(|p| p.1);
    let top = all().fold(1.0, f64::max) * 2.0;
    let bottom = all().fold(top, f64::min) / 2.0;
    let root = SVGBackend::new(path, (640, 380)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(45f64..100f64, (bottom..top).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency, µs")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    for (i, (row, line)) in rows.iter().zip(points).enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(row.name.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
