/* bench-frame-gap.c: the longest gap between frames while the demo's maps train
 *
 * A benchmark, not a test (meson test --benchmark, or run it under
 * xvfb-run): it opens the demo with the default settings, keeps the window's
 * frame clock ticking, and records the time between consecutive frames from
 * the first training progress to the last finished map, then as long again
 * with nothing running (the machine's baseline: on a shared machine the
 * scheduler, not the app, makes most gaps), and the main thread's CPU time
 * per frame.  Prints the longest, 99th percentile and median of each.  The
 * target is 20 ms.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "somscope-application.h"
#include "somscope-window.h"

static GArray *gaps;       /* double, milliseconds, while training */
static GArray *idle_gaps;  /* the same, for as long again after training */
static GArray *work;       /* main-thread time per frame: layout to after-paint */
static gint64 last_frame;
static gint64 started;
static gint64 stopped;
static gint64 layout_start;
static gboolean finished;

static gboolean
training (SomscopeWindow *window)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *layers;
  guint n;

  if (document == NULL)
    return FALSE;
  layers = somscope_document_get_layers (document);
  n = g_list_model_get_n_items (layers);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);
      SomscopeLayerStatus status = somscope_layer_get_status (layer);

      if (status == SOMSCOPE_LAYER_STATUS_TRAINING || status == SOMSCOPE_LAYER_STATUS_WAITING)
        return TRUE;
    }
  return FALSE;
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  gint64 now = g_get_monotonic_time ();
  gboolean busy = training (SOMSCOPE_WINDOW (widget));

  if (busy && !started)
    started = now;
  if (started && !busy && !stopped)
    stopped = now;
  if (started && last_frame > 0)
    {
      double gap = (now - last_frame) / 1000.0;

      g_array_append_val (stopped ? idle_gaps : gaps, gap);
    }
  last_frame = now;
  /* As long again with nothing running: the machine's own baseline. */
  if (stopped && now - stopped > MIN (stopped - started, 10 * G_USEC_PER_SEC))
    {
      finished = TRUE;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* CPU time of the main thread: what the app itself spends, whatever else
 * the machine is doing. */
static gint64
thread_cpu_usec (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void
layout_cb (GdkFrameClock *clock)
{
  layout_start = thread_cpu_usec ();
}

static void
after_paint_cb (GdkFrameClock *clock)
{
  double ms = (thread_cpu_usec () - layout_start) / 1000.0;

  if (started && !stopped && layout_start > 0)
    g_array_append_val (work, ms);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
report (const char *what,
        GArray     *values)
{
  double max = 0, p99 = 0, p50 = 0;

  if (values->len > 0)
    {
      g_array_sort (values, compare_doubles);
      max = g_array_index (values, double, values->len - 1);
      p99 = g_array_index (values, double, (gsize) (0.99 * (values->len - 1)));
      p50 = g_array_index (values, double, (gsize) (0.50 * (values->len - 1)));
    }
  g_print ("%s: longest %.1f ms, 99th percentile %.1f ms, median %.1f ms (%u frames)\n",
           what, max, p99, p50, values->len);
}

static void
on_activate (GApplication *app,
             gpointer      user_data)
{
  GtkWidget *window = GTK_WIDGET (gtk_application_get_active_window (GTK_APPLICATION (app)));
  gint64 t0 = g_get_monotonic_time ();

  gtk_widget_add_tick_callback (window, tick_cb, NULL, NULL);
  while (!gtk_widget_get_mapped (window))
    g_main_context_iteration (NULL, TRUE);
  g_signal_connect (gtk_widget_get_frame_clock (window), "layout", G_CALLBACK (layout_cb), NULL);
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint", G_CALLBACK (after_paint_cb), NULL);
  while (!finished)
    {
      if (g_get_monotonic_time () - t0 > 600 * G_USEC_PER_SEC)
        g_error ("the maps did not finish training in 10 minutes");
      g_main_context_iteration (NULL, TRUE);
    }
  g_application_quit (app);
}

int
main (int argc, char **argv)
{
  g_autoptr(SomscopeApplication) app = NULL;
  gtk_init ();
  gaps = g_array_new (FALSE, FALSE, sizeof (double));
  idle_gaps = g_array_new (FALSE, FALSE, sizeof (double));
  work = g_array_new (FALSE, FALSE, sizeof (double));
  app = somscope_application_new ();
  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate), NULL);
  g_application_run (G_APPLICATION (app), 1, argv);

  g_print ("training took %.1f s\n", (stopped - started) / 1e6);
  report ("frame gap while training", gaps);
  report ("frame gap after training (baseline)", idle_gaps);
  report ("main-thread CPU time per frame (layout to paint) while training", work);
  return gaps->len > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
