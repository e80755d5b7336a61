/* rtmfp-server --metrics: HTTP/1.x request heads (see rtmfphttprequest.h).
 * Only the request line is read: header fields are neither needed nor
 * trusted (the head's size is bounded by the caller).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "rtmfphttprequest.h"

#include <string.h>

gsize
rtmfp_http_request_head_end (const guint8 * data, gsize len)
{
  gsize i;

  for (i = 1; i < len; i++)
    if (data[i] == '\n' && (data[i - 1] == '\n' ||
            (i >= 2 && data[i - 1] == '\r' && data[i - 2] == '\n')))
      return i + 1;
  return 0;
}

/* method: an RFC 9110 token of upper-case letters (all methods in use) */
static gboolean
is_method (const guint8 * p, gsize n)
{
  gsize i;

  if (n == 0 || n > 16)
    return FALSE;
  for (i = 0; i < n; i++)
    if (p[i] < 'A' || p[i] > 'Z')
      return FALSE;
  return TRUE;
}

guint
rtmfp_http_request_status (const guint8 * head, gsize len,
    const gchar * path, gboolean * head_only)
{
  const guint8 *eol, *sp1, *sp2, *target, *ver;
  gsize n, target_len, path_len = strlen (path);

  *head_only = FALSE;
  if (len == 0 || !(eol = memchr (head, '\n', len)))
    return 400;
  n = eol - head;
  if (n > 0 && head[n - 1] == '\r')
    n--;
  /* METHOD SP request-target SP HTTP/1.x, nothing else */
  sp1 = memchr (head, ' ', n);
  if (!sp1)
    return 400;
  target = sp1 + 1;
  sp2 = memchr (target, ' ', head + n - target);
  if (!sp2)
    return 400;
  ver = sp2 + 1;
  if (head + n - ver != 8 || memcmp (ver, "HTTP/1.", 7) != 0 ||
      !g_ascii_isdigit (ver[7]) || !is_method (head, sp1 - head))
    return 400;
  target_len = sp2 - target;
  if (target_len == 0 || target[0] != '/' ||
      memchr (target, '\0', target_len))
    return 400;
  if (!((sp1 - head == 3 && memcmp (head, "GET", 3) == 0) ||
          (sp1 - head == 4 && memcmp (head, "HEAD", 4) == 0)))
    return 405;
  *head_only = head[0] == 'H';
  {
    const guint8 *q = memchr (target, '?', target_len);

    if (q)
      target_len = q - target;
  }
  if (target_len != path_len || memcmp (target, path, path_len) != 0)
    return 404;
  return 200;
}
