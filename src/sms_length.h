/*
 * sms_length.h - how many SMS a text costs, and small helpers the SMS
 * connectors share (E.164 -> MSISDN digits).
 *
 * Encoding rules (3GPP TS 23.038 / TS 23.040):
 *  - A text that uses only the GSM 03.38 default alphabet and its extension
 *    table is sent as GSM-7.  Basic characters cost one septet; extension
 *    characters (form feed, ^ { } \ [ ~ ] | and the euro sign) cost two
 *    (ESC + char).  One SMS carries 160 septets; a concatenated message
 *    carries 153 per part (the user data header takes 7), and an ESC pair is
 *    never split across parts.
 *  - Anything else is sent as UCS-2: one unit per UTF-16 code unit, so a
 *    character outside the BMP (most emoji) costs two.  One SMS carries 70
 *    units, a concatenated one 67 per part; a surrogate pair is not split.
 */
#ifndef OTP_SMS_LENGTH_H
#define OTP_SMS_LENGTH_H

#include <stdbool.h>
#include <stddef.h>

#define OTP_SMS_GSM7 7
#define OTP_SMS_UCS2 16

#define OTP_SMS_GSM7_SINGLE 160
#define OTP_SMS_GSM7_PART 153
#define OTP_SMS_UCS2_SINGLE 70
#define OTP_SMS_UCS2_PART 67

/*
 * Number of SMS segments utf8 needs (0 for the empty string).  *encoding
 * (may be NULL) receives OTP_SMS_GSM7 or OTP_SMS_UCS2, *units (may be NULL)
 * the length in septets or UTF-16 units.  Invalid UTF-8 bytes count as one
 * non-GSM character each (U+FFFD).
 */
size_t otp_sms_segments(const char *utf8, int *encoding, size_t *units);

/* Does utf8 fit the GSM-7 alphabet (default + extension table)? */
bool otp_sms_is_gsm7(const char *utf8);

/*
 * "+819012345678" -> "819012345678": a validated E.164 number (`+`, 7 to
 * 15 digits, no leading 0) as the bare international digits that Vonage,
 * SMS Aero and GatewayAPI want.  0, or -1 (out untouched beyond "") if to is
 * not E.164 or out is too small.
 */
int otp_sms_msisdn(const char *to, char *out, size_t outlen);


#endif
