//! Label QR codes: a mark's URL encoded as a QR code at error correction level M, rendered as an
//! SVG document or a PNG image, each with the standard quiet zone of four modules on every side.
//!
//! This module owns the module matrix and its two renderings. It does not build or check the URL
//! (that is [`super::token`] and the HTTP edge), and it knows nothing of physical print sizes.

/// Error correction level M restores up to about 15% of the codewords: enough for a scuffed or
/// partly covered label, while keeping a ~200-character URL at a version phones scan easily.
/// (Q or H would grow the code by several versions for the same URL.)
const EC_LEVEL: qrcode::EcLevel = qrcode::EcLevel::M;

/// ISO/IEC 18004 requires a light margin of four modules around a QR code; readers rely on it
/// to find the finder patterns, so it is part of every rendering rather than left to the layout.
const QUIET_ZONE: usize = 4;

/// The SVG's nominal size per module. The image is vector and scales freely; this only gives
/// viewers a sensible default size.
const SVG_PX_PER_MODULE: usize = 8;

/// The largest PNG module size [`Label::png`] will draw. At 32 px even a version-40 code (177
/// modules) is 5920 px square, about 4.4 MB uncompressed at one bit per pixel, so a request
/// cannot make the server allocate without bound; a real label URL (version 10 or so) is about
/// 2200 px, ample for 600 dpi print.
pub const MAX_MODULE_PX: u32 = 32;

/// Why a URL cannot become a label.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The data needs more capacity than a version-40 QR code offers at level M (2331 bytes).
    #[error("data too long for a QR code at error correction level M")]
    TooLong,
}

/// The module matrix of one label's QR code, without the quiet zone.
#[derive(Debug, Clone)]
pub struct Label {
    /// Modules per side.
    width: usize,
    /// Row-major, `true` for a dark module.
    dark: Vec<bool>,
}

impl Label {
    /// Encodes `url` at error correction level M, in the smallest version that holds it.
    pub fn new(url: &str) -> Result<Label, QrError> {
        Self::with_level(url, EC_LEVEL)
    }

    fn with_level(data: &str, level: qrcode::EcLevel) -> Result<Label, QrError> {
        // With the version left to the encoder and any bytes accepted in byte mode, running out
        // of capacity is the only way encoding can fail.
        let code = qrcode::QrCode::with_error_correction_level(data, level)
            .map_err(|_| QrError::TooLong)?;
        Ok(Label {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect(),
        })
    }

    /// Width of the code in modules, without the quiet zone.
    pub fn modules(&self) -> usize {
        self.width
    }

    /// Side of the rendered image in modules, quiet zone included.
    pub fn side(&self) -> usize {
        self.width + 2 * QUIET_ZONE
    }

    /// Whether the module at (`col`, `row`) of the rendered image, quiet zone included, is dark.
    fn is_dark(&self, col: usize, row: usize) -> bool {
        let inside = QUIET_ZONE..QUIET_ZONE + self.width;
        inside.contains(&col)
            && inside.contains(&row)
            && self.dark[(row - QUIET_ZONE) * self.width + (col - QUIET_ZONE)]
    }

    /// A standalone SVG document: the XML declaration and [`Self::svg_element`].
    pub fn svg(&self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
            self.svg_element()
        )
    }

    /// The `<svg>` element alone, for embedding in a page: black modules on a white square,
    /// the view box measured in modules (quiet zone included) and a nominal size of 8 px per
    /// module.
    pub fn svg_element(&self) -> String {
        let side = self.side();
        let px = side * SVG_PX_PER_MODULE;
        let d = self.svg_path();
        format!(
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" "#,
                r#"viewBox="0 0 {side} {side}" shape-rendering="crispEdges">"#,
                r##"<rect width="{side}" height="{side}" fill="#fff"/>"##,
                r##"<path fill="#000" d="{d}"/></svg>"##,
            ),
            px = px,
            side = side,
            d = d,
        )
    }

    /// The dark modules as SVG path data in a view box [`Self::side`] modules square, for
    /// [`Self::svg_element`] and for templates that draw the `<svg>` element themselves (the
    /// printing sheet). Digits and the letters `Mhvz` only.
    ///
    /// Each horizontal run of dark modules is one closed subpath, which keeps a typical label
    /// to a few kilobytes where one `<rect>` per module would be tens.
    pub fn svg_path(&self) -> String {
        let side = self.side();
        let mut d = String::new();
        for row in 0..side {
            let mut col = 0;
            while col < side {
                if !self.is_dark(col, row) {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < side && self.is_dark(col, row) {
                    col += 1;
                }
                let run = col - start;
                d.push_str(&format!("M{start} {row}h{run}v1h-{run}z"));
            }
        }
        d
    }

    /// A 1-bit greyscale PNG, each module `module_px` × `module_px` pixels, quiet zone included.
    ///
    /// `module_px` is clamped to `1..=`[`MAX_MODULE_PX`] so that no request can ask for an
    /// unbounded image; callers that want to refuse larger sizes check against that constant.
    /// Camera readers need about 4 px per module on screen; print wants more.
    pub fn png(&self, module_px: u32) -> Vec<u8> {
        let module_px = module_px.clamp(1, MAX_MODULE_PX) as usize;
        let side_px = self.side() * module_px;
        let row_bytes = side_px.div_ceil(8);
        // One bit per pixel, 1 = white: a pure black-and-white image loses nothing at this
        // depth and is an eighth of the size of 8-bit greyscale before compression.
        let mut pixels = vec![0xff_u8; row_bytes * side_px];
        for y in 0..side_px {
            for x in 0..side_px {
                if self.is_dark(x / module_px, y / module_px) {
                    pixels[y * row_bytes + x / 8] &= !(0x80 >> (x % 8));
                }
            }
        }

        let side_px = u32::try_from(side_px).expect("at most 185 modules of 32 px fits u32");
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side_px, side_px);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        // Writing into a Vec cannot fail, and the header and data lengths agree by construction.
        let mut writer = encoder.write_header().expect("PNG header into a Vec");
        writer
            .write_image_data(&pixels)
            .expect("PNG data of the declared size into a Vec");
        writer.finish().expect("PNG end into a Vec");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A token URL of the realistic size: 112 bytes of token, 150 characters of base64url.
    const MARK_URL: &str = concat!(
        "https://mark.example.cn/v/",
        "AQAAAAAAAAAApUTmu3gKLHiQHT-zNzh2hRGjBhevoB1L9RIvNEVUxTveLruM0rfj0WAK1jHDhaXXzOI8d4VFmtvB",
        "tMkA_-SNV1tdpcY4BAEl9l2w_j4kSUt26phkV9mGCE_tCLl4r019GWp0RqhrWA",
    );

    /// A GS1 Digital Link URI (GTIN 09506000134352 is the example GTIN of the GS1 Digital Link
    /// standard) with the token in a query parameter.
    const GS1_URL: &str = concat!(
        "https://mark.example.cn/01/09506000134352/21/123?t=",
        "K_xWhYpt9GXFXW-ayp6Rsc_feGlaPvKTt2_hSkRHpAqs0BayJqdrgMqnA6j85cOiZd9TsSrtCYP13terAz_dzQ",
    );

    /// Decodes a PNG to (side, 8-bit luma), checking it is square.
    fn luma(png_bytes: &[u8]) -> (usize, Vec<u8>) {
        let mut decoder = png::Decoder::new(png_bytes);
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().expect("a valid PNG header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("valid PNG data");
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        assert_eq!(info.width, info.height);
        buf.truncate(info.buffer_size());
        (info.width as usize, buf)
    }

    /// Reads the one QR code in a PNG as a phone app would, from its pixels alone.
    fn scan(png_bytes: &[u8]) -> (rqrr::MetaData, String) {
        let (side, luma) = luma(png_bytes);
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| luma[y * side + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "exactly one QR code in the image");
        grids[0].decode().expect("the QR code decodes")
    }

    #[test]
    fn a_mark_url_png_scans_back_to_the_same_url() {
        let label = Label::new(MARK_URL).unwrap();
        assert_eq!(scan(&label.png(8)).1, MARK_URL);
    }

    #[test]
    fn a_mark_url_still_scans_at_four_pixels_per_module() {
        let label = Label::new(MARK_URL).unwrap();
        assert_eq!(scan(&label.png(4)).1, MARK_URL);
    }

    #[test]
    fn a_gs1_digital_link_url_scans_back_at_four_pixels_per_module() {
        let label = Label::new(GS1_URL).unwrap();
        assert_eq!(scan(&label.png(4)).1, GS1_URL);
    }

    #[test]
    fn the_png_has_a_white_quiet_zone_of_exactly_four_modules() {
        let label = Label::new(MARK_URL).unwrap();
        let module_px = 5;
        let (side, luma) = luma(&label.png(module_px));
        let border = 4 * module_px as usize;
        assert_eq!(side, (label.modules() + 8) * module_px as usize);

        let dark = |x: usize, y: usize| luma[y * side + x] < 128;
        for y in 0..side {
            for x in 0..side {
                let in_border =
                    x < border || y < border || x >= side - border || y >= side - border;
                if in_border {
                    assert!(!dark(x, y), "quiet-zone pixel ({x}, {y}) is dark");
                }
            }
        }
        assert!(
            luma.iter().all(|&l| l == 0 || l == 255),
            "pure black and white"
        );
        // The finder patterns' outer corners are dark, so the code starts right at the margin
        // on all four sides.
        let first_dark_row = (0..side).find(|&y| (0..side).any(|x| dark(x, y)));
        let first_dark_col = (0..side).find(|&x| (0..side).any(|y| dark(x, y)));
        let last_dark_row = (0..side).rev().find(|&y| (0..side).any(|x| dark(x, y)));
        let last_dark_col = (0..side).rev().find(|&x| (0..side).any(|y| dark(x, y)));
        assert_eq!(first_dark_row, Some(border));
        assert_eq!(first_dark_col, Some(border));
        assert_eq!(last_dark_row, Some(side - border - 1));
        assert_eq!(last_dark_col, Some(side - border - 1));
    }

    #[test]
    fn the_error_correction_level_is_m() {
        // rqrr reports the raw two-bit format field of ISO/IEC 18004 Table 12, where L = 01,
        // M = 00, Q = 11, H = 10 (rqrr's own version table puts M first: 16 data codewords in
        // version 1). Level L decoding to 1 shows the numbering is the one assumed here.
        let (meta, _) = scan(&Label::new(MARK_URL).unwrap().png(8));
        assert_eq!(meta.ecc_level, 0);
        let (meta, _) = scan(
            &Label::with_level(MARK_URL, qrcode::EcLevel::L)
                .unwrap()
                .png(8),
        );
        assert_eq!(meta.ecc_level, 1);
    }

    #[test]
    fn the_png_module_size_is_clamped() {
        let label = Label::new("https://mark.example.cn/").unwrap();
        let side = label.modules() + 8;
        assert_eq!(luma(&label.png(0)).0, side);
        assert_eq!(luma(&label.png(u32::MAX)).0, side * MAX_MODULE_PX as usize);
    }

    #[test]
    fn the_svg_draws_the_same_modules_in_a_view_box_with_the_quiet_zone() {
        let label = Label::new(MARK_URL).unwrap();
        let svg = label.svg();
        let side = label.modules() + 8;
        assert!(svg.starts_with("<?xml"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(&format!(r#"viewBox="0 0 {side} {side}""#)));
        assert!(svg.contains(&format!(r#"width="{}""#, side * 8)));
        assert!(svg.contains(r#"shape-rendering="crispEdges""#));

        // Parse the runs back ("M{x} {y}h{n}v1h-{n}z") and paint them onto a blank matrix.
        let d = svg
            .split(r#" d=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut painted = vec![false; side * side];
        for run in d.split('M').skip(1) {
            let (x, rest) = run.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let (n, _) = rest.split_once('v').unwrap();
            let (x, y, n): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), n.parse().unwrap());
            for col in x..x + n {
                assert!(!painted[y * side + col], "runs overlap at ({col}, {y})");
                painted[y * side + col] = true;
            }
        }
        for row in 0..side {
            for col in 0..side {
                assert_eq!(
                    painted[row * side + col],
                    label.is_dark(col, row),
                    "({col}, {row})"
                );
            }
        }
    }

    #[test]
    fn data_beyond_version_40_m_capacity_is_too_long() {
        // ISO/IEC 18004 Table 7: version 40-M holds 2331 bytes in byte mode. Lower-case letters
        // keep the encoder in byte mode.
        assert_eq!(Label::new(&"a".repeat(2331)).unwrap().modules(), 177);
        assert!(matches!(
            Label::new(&"a".repeat(2332)),
            Err(QrError::TooLong)
        ));
    }

    proptest! {
        #![proptest_config(crate::domain::seeded(32))]

        #[test]
        fn any_printable_ascii_url_up_to_300_chars_scans_back(url in "[ -~]{1,300}") {
            let label = Label::new(&url).unwrap();
            prop_assert_eq!(scan(&label.png(4)).1, url);
        }
    }
}
