/* GStreamer RTMFP: bus posts from the net thread (see gstrtmfpposter.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtmfpposter.h"

typedef struct
{
  guint run_id;
  GError *error;                /* the error of the run, or */
  GstMessage *message;          /* an element message, or */
  gboolean key_unit;            /* ask upstream for a keyframe, or */
  GstRtmfpPosterFunc func;      /* call this */
  gpointer data;
  GDestroyNotify destroy;
} Post;

static void
post_free (Post * p)
{
  g_clear_error (&p->error);
  if (p->message)
    gst_message_unref (p->message);
  if (p->destroy && p->data)
    p->destroy (p->data);
  g_free (p);
}

void
gst_rtmfp_poster_init (GstRtmfpPoster * p, GstElement * element,
    GstRtmfpPosterErrorFunc error_func, gpointer error_data)
{
  p->element = element;
  p->error_func = error_func;
  p->error_data = error_data;
  g_mutex_init (&p->lock);
  g_queue_init (&p->posts);
  p->scheduled = FALSE;
  p->run_id = 0;
  p->active = FALSE;
}

void
gst_rtmfp_poster_clear (GstRtmfpPoster * p)
{
  g_queue_clear_full (&p->posts, (GDestroyNotify) post_free);
  g_mutex_clear (&p->lock);
}

void
gst_rtmfp_poster_start (GstRtmfpPoster * p)
{
  g_mutex_lock (&p->lock);
  p->run_id++;
  p->active = TRUE;
  g_mutex_unlock (&p->lock);
}

void
gst_rtmfp_poster_stop (GstRtmfpPoster * p)
{
  g_mutex_lock (&p->lock);
  p->active = FALSE;
  g_mutex_unlock (&p->lock);
}

/* On a thread of GStreamer's pool, which holds a reference to the
 * element: posts what was queued, in order */
static void
drain (GstElement * element, gpointer data)
{
  GstRtmfpPoster *p = data;
  Post *post;

  for (;;) {
    gboolean current;

    g_mutex_lock (&p->lock);
    post = g_queue_pop_head (&p->posts);
    if (!post) {
      p->scheduled = FALSE;
      g_mutex_unlock (&p->lock);
      return;
    }
    current = p->active && post->run_id == p->run_id;
    g_mutex_unlock (&p->lock);

    if (!current) {
      GST_DEBUG_OBJECT (element, "dropping a post of a finished run");
    } else if (post->error) {
      p->error_func (post->error, p->error_data);
    } else if (post->message) {
      gst_element_post_message (element, post->message);
      post->message = NULL;
    } else if (post->func) {
      post->func (element, post->data);
    } else if (post->key_unit) {
      /* the GstForceKeyUnit event of gstvideoevent.h */
      GST_INFO_OBJECT (element, "asking upstream for a keyframe");
      gst_element_send_event (element,
          gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
              gst_structure_new ("GstForceKeyUnit", "all-headers",
                  G_TYPE_BOOLEAN, TRUE, "count", G_TYPE_UINT, 0, NULL)));
    }
    post_free (post);
  }
}

static void
push (GstRtmfpPoster * p, Post * post)
{
  gboolean schedule;

  g_mutex_lock (&p->lock);
  post->run_id = p->run_id;
  g_queue_push_tail (&p->posts, post);
  schedule = !p->scheduled;
  p->scheduled = TRUE;
  g_mutex_unlock (&p->lock);
  if (schedule)
    gst_element_call_async (p->element, drain, p, NULL);
}

void
gst_rtmfp_poster_error (GstRtmfpPoster * p, const GError * error)
{
  Post *post = g_new0 (Post, 1);

  GST_DEBUG_OBJECT (p->element, "queueing error: %s", error->message);
  post->error = g_error_copy (error);
  push (p, post);
}

void
gst_rtmfp_poster_message (GstRtmfpPoster * p, GstStructure * s)
{
  Post *post = g_new0 (Post, 1);

  post->message = gst_message_new_element (GST_OBJECT (p->element), s);
  push (p, post);
}

void
gst_rtmfp_poster_key_unit (GstRtmfpPoster * p)
{
  Post *post = g_new0 (Post, 1);

  post->key_unit = TRUE;
  push (p, post);
}

void
gst_rtmfp_poster_call (GstRtmfpPoster * p, GstRtmfpPosterFunc func,
    gpointer data, GDestroyNotify destroy)
{
  Post *post = g_new0 (Post, 1);

  post->func = func;
  post->data = data;
  post->destroy = destroy;
  push (p, post);
}
