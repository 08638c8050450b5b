/* targets.c — the table of fuzz targets (fuzz.h), for the corpus replay. */
#include "fuzz.h"

const struct fuzz_target fuzz_targets[] = {
    {"scheme_github", fuzz_scheme_github},
    {"scheme_stripe", fuzz_scheme_stripe},
    {"scheme_shopify", fuzz_scheme_shopify},
    {"scheme_slack", fuzz_scheme_slack},
    {"scheme_standard", fuzz_scheme_standard},
    {"scheme_hmac", fuzz_scheme_hmac},
    {"scheme_discord", fuzz_scheme_discord},
    {"scheme_sendgrid", fuzz_scheme_sendgrid},
    {"scheme_standard_v1a", fuzz_scheme_standard_v1a},
    {"scheme_paddle", fuzz_scheme_paddle},
    {"scheme_zoom", fuzz_scheme_zoom},
    {"scheme_meta", fuzz_scheme_meta},
    {"scheme_twitch", fuzz_scheme_twitch},
    {"scheme_token", fuzz_scheme_token},
    {"scheme_twilio", fuzz_scheme_twilio},
    {"form", fuzz_form},
    {"extract", fuzz_extract},
    {"config", fuzz_config},
    {"log_escape", fuzz_log_escape},
    {"forwarded_for", fuzz_forwarded_for},
};
const size_t fuzz_ntargets = sizeof fuzz_targets / sizeof fuzz_targets[0];
