-- Version 7: the brand's theme (Okta's Brands and Themes API, issue 13): colours, touch-point
-- variants, and the logo and favicon an administrator uploaded. One theme per brand, as in Okta;
-- its id is fixed here because clients learn it only from GET /api/v1/brands/{brandId}/themes.
-- Images are kept as base64 text, which SQLite and PostgreSQL store alike (at most 100 KiB
-- each, checked by the server).
CREATE TABLE brand_themes (
    id TEXT PRIMARY KEY,
    brand_id TEXT NOT NULL UNIQUE,
    primary_color_hex TEXT NOT NULL,
    secondary_color_hex TEXT NOT NULL,
    sign_in_page_variant TEXT NOT NULL,
    end_user_dashboard_variant TEXT NOT NULL,
    error_page_variant TEXT NOT NULL,
    email_template_variant TEXT NOT NULL,
    loading_page_variant TEXT NOT NULL,
    logo_type TEXT,
    logo_base64 TEXT,
    favicon_type TEXT,
    favicon_base64 TEXT,
    updated_at BIGINT NOT NULL
);
INSERT INTO brand_themes (id, brand_id, primary_color_hex, secondary_color_hex, sign_in_page_variant,
    end_user_dashboard_variant, error_page_variant, email_template_variant, loading_page_variant, updated_at)
VALUES ('thdefault0latchkey01', 'default', '#1d5bd6', '#ebebed', 'OKTA_DEFAULT', 'OKTA_DEFAULT', 'OKTA_DEFAULT',
    'OKTA_DEFAULT', 'OKTA_DEFAULT', 0);
