/* bench-frame-gap.c: the longest gap between frames while the demo's maps train
 *
 * A benchmark, not a test (meson test --benchmark, or run it under
 * xvfb-run): it opens the demo with the default settings, keeps the window's
 * frame clock ticking, and records the time between consecutive frames from
 * the start of the jobs (a map training or the attack running) to the last
 * finished map, then until the other jobs end (the attack: its results'
 * frame is reported apart), then as long again as the training took
 * with nothing running (the machine's baseline: on a shared machine the
 * scheduler, not the app, makes most gaps), and the main thread's CPU time
 * per frame.  Prints the longest, 99th percentile and median of each.  The
 * target is 20 ms.  Counts the intermediate maps the views were handed
 * while training (epochs coalesce: at most one waiting per layer), and times, side by side in the same run, the
 * renderer's crisp mode (what live redraws use) against its smooth mode on
 * every trained map at the size of the main view.  Prints the load average
 * next to the figures: on a loaded machine the gaps measure the machine.
 * And each training frame's gap less the main thread's time runnable but
 * waiting for a CPU in it (/proc/thread-self/schedstat): the part of the
 * gap the scheduler did not make.
 *
 * With the demo's default 20 epochs the maps train for well under a second
 * on an idle machine (a dozen frames or so), too few for a 99th percentile.
 * The frame that first shows the loaded document, and the frames after it
 * until the jobs start (the window lets a new document paint before its
 * jobs take the cores), are reported apart: they are the load's.
 *
 * SOMSCOPE_BENCH_TRACE=1 prints every frame while training (and every frame
 * over 20 ms after): its gap, the main thread's CPU time, its time runnable
 * but waiting for a CPU, its page faults, the outermost widgets that moved
 * or changed size (everything around them redraws), the process's threads
 * that ran during gaps over 20 ms (their time on a CPU and waiting for one,
 * their policy and nice value; and the X server's, when it is Xvfb), and
 * the time of the frame on CLOCK_MONOTONIC (as `perf record -k monotonic`
 * stamps its samples, to find a long frame in a profile).
 *
 * SOMSCOPE_BENCH_ADJ=1 prints every change of a scrollable's range or
 * position while training (a growing list lays the window out each frame).
 *
 * SOMSCOPE_BENCH_EPOCHS=N (e.g. 200) trains the same maps on the same
 * images for N epochs instead: every epoch is the same work as in the
 * default demo (same data, same map size), only more of them, so the window
 * measured is longer but of the same kind; the maps it ends with differ from
 * the default ones (a longer schedule).  The epochs used are printed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
/* RUSAGE_THREAD */
#define _GNU_SOURCE
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "som-render.h"

#include "somscope-application.h"
#include "somscope-window.h"

static GArray *gaps;       /* double, milliseconds, while training */
static GArray *idle_gaps;  /* the same, for as long again once nothing runs */
static GArray *tail_gaps;  /* after the maps, while other jobs (the attack) finish */
static gint64 quiet_since; /* the first frame after the maps with no job running */
static guint quiet_frames; /* frames in a row with no job running, after the maps */
#define QUIET_AFTER_FRAMES 5
static GArray *work;       /* main-thread time per frame: update to after-paint */
static GArray *between;      /* main-thread CPU time between consecutive frames while training */
static gint64 last_cpu;
static double opening_gap;
static double opening_cpu;
static long opening_faults;
static gint64 shown_at;    /* the first frame with the loaded document */
static GArray *before_gaps; /* frames after it, before the jobs started */
static GArray *before_cpu;
static GArray *live_work;  /* the same, for the frames that drew an epoch's new maps */
static guint live_at_layout;
static gint64 last_frame;
static gint64 started;
static gint64 stopped;
static gint64 layout_start;
static gboolean frame_has_layout;
static gboolean finished;
static guint live_updates;
static gint64 quit_started;
static GPtrArray *watched;
static GArray *waited;     /* main thread's time runnable but not running, between frames */
static gint64 last_wait;
static gboolean trace;     /* SOMSCOPE_BENCH_TRACE: one line per frame while training */
static long last_faults;

/* Page faults of the main thread so far (fresh memory costs a fault per page). */
static long
thread_faults (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_THREAD, &usage) != 0)
    return 0;
  return usage.ru_minflt + usage.ru_majflt;
}

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

static gint64 thread_cpu_usec (void);

/* Trace mode: the process's threads that ran since the previous frame
 * (their CPU time from /proc), with their scheduling policy and nice. */
static GHashTable *thread_ticks;   /* "tid" or "X" → guint64 ns on a CPU so far */
static char *xvfb_schedstat;       /* the X server's /proc/PID/schedstat, if it is Xvfb */

/* ns on a CPU and ns runnable but waiting, from a schedstat file */
static gboolean
read_schedstat (const char *path,
                guint64    *run,
                guint64    *wait)
{
  g_autofree char *text = NULL;
  char *end;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  *run = g_ascii_strtoull (text, &end, 10);
  *wait = g_ascii_strtoull (end, NULL, 10);
  return TRUE;
}

static void
find_xvfb (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *pid;

  while (dir != NULL && (pid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/comm", pid);
      g_autofree char *comm = NULL;

      if (g_ascii_isdigit (*pid) && g_file_get_contents (path, &comm, NULL, NULL) &&
          g_str_has_prefix (comm, "Xvfb"))
        {
          xvfb_schedstat = g_strdup_printf ("/proc/%s/schedstat", pid);
          return;
        }
    }
}

static void
append_run (GString    *out,
            const char *key,
            const char *what,
            guint64     run,
            guint64     wait)
{
  guint64 *before = g_hash_table_lookup (thread_ticks, key);

  if (before != NULL && run > before[0])
    g_string_append_printf (out, " %s: %.1f ms (waited %.1f)", what, (run - before[0]) / 1e6,
                            (wait - before[1]) / 1e6);
  if (before == NULL)
    {
      before = g_new (guint64, 2);
      g_hash_table_insert (thread_ticks, g_strdup (key), before);
    }
  before[0] = run;
  before[1] = wait;
}

/* The threads that ran since the previous call, with their time on a CPU
 * and waiting for one (schedstat, in ns), policy and nice; and the X
 * server's, when it is Xvfb on this machine (it paints for us). */
static void
append_busy_threads (GString *out)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  guint64 run, wait;

  if (thread_ticks == NULL)
    {
      thread_ticks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      find_xvfb ();
    }
  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/stat", tid);
      g_autofree char *sched = g_strdup_printf ("/proc/self/task/%s/schedstat", tid);
      g_autofree char *text = NULL;
      g_autofree char *what = NULL;
      g_auto(GStrv) fields = NULL;
      char *close;

      if (!g_file_get_contents (path, &text, NULL, NULL) || (close = strrchr (text, ')')) == NULL)
        continue;
      *close = '\0';
      fields = g_strsplit (close + 2, " ", 0);
      /* After the name: state(0) ... nice(16) ... policy(38) */
      if (g_strv_length (fields) < 40 || !read_schedstat (sched, &run, &wait))
        continue;
      what = g_strdup_printf ("%s(%s, nice %s, policy %s)", strchr (text, '(') + 1, tid, fields[16], fields[38]);
      append_run (out, tid, what, run, wait);
    }
  if (xvfb_schedstat != NULL && read_schedstat (xvfb_schedstat, &run, &wait))
    append_run (out, "X", "Xvfb", run, wait);
}

static void
adjustment_cb (GtkAdjustment *adjustment,
               GParamSpec    *pspec,
               GtkWidget     *owner)
{
  if (started && !stopped)
    g_print ("adjustment of %s %s: %s now %.1f (page %.1f)\n", G_OBJECT_TYPE_NAME (owner),
             gtk_widget_get_name (owner), pspec->name,
             g_str_equal (pspec->name, "upper") ? gtk_adjustment_get_upper (adjustment)
                                                : gtk_adjustment_get_value (adjustment),
             gtk_adjustment_get_page_size (adjustment));
}

static void
watch_adjustments (GtkWidget *widget)
{
  if (GTK_IS_SCROLLABLE (widget))
    {
      GtkAdjustment *adjustments[2] = { gtk_scrollable_get_hadjustment (GTK_SCROLLABLE (widget)),
                                        gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (widget)) };

      for (guint i = 0; i < 2; i++)
        if (adjustments[i] != NULL)
          {
            g_signal_connect (adjustments[i], "notify::upper", G_CALLBACK (adjustment_cb), widget);
            g_signal_connect (adjustments[i], "notify::value", G_CALLBACK (adjustment_cb), widget);
          }
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    watch_adjustments (child);
}

static gboolean
layer_training (SomscopeDocument *document)
{
  GListModel *layers = somscope_document_get_layers (document);

  for (guint i = 0; i < g_list_model_get_n_items (layers); i++)
    {
      g_autoptr(SomscopeLayer) layer = g_list_model_get_item (layers, i);

      if (somscope_layer_get_status (layer) == SOMSCOPE_LAYER_STATUS_TRAINING)
        return TRUE;
    }
  return FALSE;
}

/* Trace mode: the outermost widgets whose place or size changed since the
 * previous frame (a moved widget redraws, and what is beside it). */
static GHashTable *bounds_seen;

static void
report_moved (GtkWidget *widget,
              GtkWidget *window,
              GString   *out,
              guint     *n)
{
  graphene_rect_t bounds, *old;
  gboolean moved = FALSE;

  if (!gtk_widget_get_mapped (widget))
    return;
  if (!gtk_widget_compute_bounds (widget, window, &bounds))
    return;
  old = g_hash_table_lookup (bounds_seen, widget);
  if (old == NULL || !graphene_rect_equal (old, &bounds))
    {
      moved = old != NULL;
      g_hash_table_insert (bounds_seen, widget, g_memdup2 (&bounds, sizeof bounds));
    }
  if (moved && *n < 4)
    {
      g_string_append_printf (out, " %s%s%s %.0fx%.0f+%.0f+%.0f", G_OBJECT_TYPE_NAME (widget),
                              gtk_widget_get_name (widget)[0] != '\0' ? "#" : "",
                              gtk_widget_get_name (widget), bounds.size.width, bounds.size.height,
                              bounds.origin.x, bounds.origin.y);
      (*n)++;
      return;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    report_moved (child, window, out, n);
}


/* Time the main thread has spent runnable but waiting for a CPU (the
 * second field of the kernel's schedstat, in nanoseconds): the part of a
 * gap the scheduler made, not the app or the X server. */
static gint64
thread_wait_usec (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/thread-self/schedstat", &text, NULL, NULL))
    return 0;
  fields = g_strsplit (text, " ", 3);
  if (g_strv_length (fields) < 2)
    return 0;
  return g_ascii_strtoll (fields[1], NULL, 10) / 1000;
}

static void
live_epoch_cb (SomscopeLayer *layer)
{
  if (somscope_layer_get_live_map (layer) != NULL)
    live_updates++;
}

/* Counts every epoch's map handed to any layer of the document. */
static void
watch_document (SomscopeWindow *window)
{
  SomscopeDocument *document = somscope_window_get_document (window);
  GListModel *layers;

  if (document == NULL || watched->len > 0)
    return;
  layers = somscope_document_get_layers (document);
  for (guint i = 0; i < g_list_model_get_n_items (layers); i++)
    {
      SomscopeLayer *layer = g_list_model_get_item (layers, i);

      g_signal_connect (layer, "notify::live-epoch", G_CALLBACK (live_epoch_cb), NULL);
      g_ptr_array_add (watched, layer);
    }
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  gint64 now = g_get_monotonic_time ();
  gboolean busy = training (SOMSCOPE_WINDOW (widget));
  SomscopeDocument *document = somscope_window_get_document (SOMSCOPE_WINDOW (widget));
  gboolean shown = document != NULL;
  /* The layers wait from the start; the jobs run once the window lets them. */
  gboolean jobs = document != NULL && (somscope_document_get_attacking (document) || layer_training (document));

  watch_document (SOMSCOPE_WINDOW (widget));
  if (shown && !shown_at)
    {
      /* The frame that shows the loaded document (its layers, gallery and
       * maps' widgets) is the load's, not the training's: reported apart,
       * as are the frames after it until the jobs start (the window lets
       * it paint first). */
      shown_at = now;
      opening_gap = (now - last_frame) / 1000.0;
      opening_cpu = (thread_cpu_usec () - last_cpu) / 1000.0;
      opening_faults = thread_faults () - last_faults;
    }
  else if (shown_at && !started && !(busy && jobs) && last_frame > 0)
    {
      double gap = (now - last_frame) / 1000.0;
      double cpu = (thread_cpu_usec () - last_cpu) / 1000.0;

      g_array_append_val (before_gaps, gap);
      g_array_append_val (before_cpu, cpu);
      if (trace)
        g_print ("frame before the jobs at %.6f s: gap %5.1f ms, main-thread CPU %5.1f ms, %ld page faults\n",
                 now / 1e6, gap, cpu, thread_faults () - last_faults);
    }
  if (busy && jobs && !started)
    started = now;
  if (started && !busy && !stopped)
    stopped = now;
  if (started && last_frame > 0)
    {
      double gap = (now - last_frame) / 1000.0;
      double cpu = (thread_cpu_usec () - last_cpu) / 1000.0;
      double wait = (thread_wait_usec () - last_wait) / 1000.0;

      /* The jobs' last results (the attack's marks and crosses) are drawn in
       * the frames right after the last job returns: those are the tail's. */
      quiet_frames = stopped && !somscope_document_get_busy (document) ? quiet_frames + 1 : 0;
      if (!quiet_since && quiet_frames > QUIET_AFTER_FRAMES)
        quiet_since = now;
      g_array_append_val (!stopped ? gaps : quiet_since ? idle_gaps : tail_gaps, gap);
      if (!stopped)
        {
          g_array_append_val (between, cpu);
          g_array_append_val (waited, wait);
        }
      if (trace)
        {
          g_autoptr(GString) moved = g_string_new ("");
          guint n = 0;

          if (bounds_seen == NULL)
            bounds_seen = g_hash_table_new_full (NULL, NULL, NULL, g_free);
          report_moved (widget, widget, moved, &n);
          if (moved->len > 0)
            g_print ("moved:%s\n", moved->str);
        }
      if (trace)
        {
          g_autoptr(GString) threads = g_string_new ("");

          append_busy_threads (threads);
          if (gap > 20.0)
            g_print ("threads that ran:%s\n", threads->str);
        }
      if (trace && (!stopped || gap > 20.0))
        g_print ("%sframe at %.6f s (%7.1f ms): gap %5.1f ms, main-thread CPU %5.1f ms, waiting for a CPU %5.1f ms, %ld page faults, %u maps so far%s\n",
                 stopped ? "after training: " : "", now / 1e6, (now - started) / 1000.0, gap, cpu, wait, thread_faults () - last_faults,
                 live_updates, somscope_document_get_attacking (document) ? ", attacking" : "");
    }
  last_frame = now;
  last_cpu = thread_cpu_usec ();
  last_wait = thread_wait_usec ();
  last_faults = thread_faults ();
  /* As long again with nothing running: the machine's own baseline. */
  if (quiet_since && now - quiet_since > MIN (stopped - started, 10 * G_USEC_PER_SEC))
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

/* The frame's work starts at its update phase (the tick callbacks, which
 * keep the clock running, make one in every frame); the layout phase runs
 * only in frames where something changed size or moved. */
static void
update_cb (GdkFrameClock *clock)
{
  layout_start = thread_cpu_usec ();
  live_at_layout = live_updates;
  frame_has_layout = FALSE;
}

static void
layout_cb (GdkFrameClock *clock)
{
  frame_has_layout = TRUE;
}

static guint last_live;
static guint layout_frames;   /* frames while training that had a layout phase */

static void
after_paint_cb (GdkFrameClock *clock)
{
  double ms = (thread_cpu_usec () - layout_start) / 1000.0;

  if (started && !stopped && layout_start > 0)
    {
      g_array_append_val (work, ms);
      layout_frames += frame_has_layout;
    }
  /* Maps that arrived since the previous frame are drawn in this one. */
  if (started && !stopped && layout_start > 0 && live_at_layout != last_live)
    g_array_append_val (live_work, ms);
  last_live = live_at_layout;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static void
report_counted (const char *what,
                GArray     *values,
                const char *noun)
{
  double max = 0, p99 = 0, p50 = 0;
  guint over = 0;

  for (guint i = 0; i < values->len; i++)
    over += g_array_index (values, double, i) > 20.0;
  if (values->len > 0)
    {
      g_array_sort (values, compare_doubles);
      max = g_array_index (values, double, values->len - 1);
      p99 = g_array_index (values, double, (gsize) (0.99 * (values->len - 1)));
      p50 = g_array_index (values, double, (gsize) (0.50 * (values->len - 1)));
    }
  g_print ("%s: longest %.1f ms, 99th percentile %.1f ms, median %.1f ms (%u %s, %u over 20 ms)\n",
           what, max, p99, p50, values->len, noun, over);
}

static void
report (const char *what,
        GArray     *values)
{
  report_counted (what, values, "frames");
}

static char *
load_average (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("unknown");
  fields = g_strsplit (text, " ", 4);
  return g_strdup_printf ("%s %s %s", fields[0], fields[1], fields[2]);
}

/* The renderer's two modes on every trained map at the main view's size,
 * interleaved so that both see the same machine. */
static void
compare_render_modes (SomscopeWindow *window)
{
  SomscopeMapView *view = somscope_window_get_map_view (window);
  GListModel *mapped = somscope_window_get_mapped_layers (window);
  int width = MAX (gtk_widget_get_width (GTK_WIDGET (view)), 100);
  int height = MAX (gtk_widget_get_height (GTK_WIDGET (view)), 100);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  double seconds[2] = { 0, 0 };
  guint renders = 0;
  const guint rounds = 20;

  for (guint round = 0; round < rounds; round++)
    for (guint i = 0; i < g_list_model_get_n_items (mapped); i++)
      {
        g_autoptr(SomscopeLayer) layer = g_list_model_get_item (mapped, i);
        SomMapData data;

        if (!somscope_layer_get_map_data (layer, &data))
          continue;
        for (guint crisp = 0; crisp < 2; crisp++)
          {
            SomRenderOptions options;
            cairo_t *cr = cairo_create (surface);
            gint64 t0;

            som_render_options_init (&options);
            options.font_size = 10;
            options.crisp = crisp;
            t0 = g_get_monotonic_time ();
            som_render_view (cr, width, height, SOM_VIEW_UMATRIX, &data, &options, NULL);
            cairo_surface_flush (surface);
            seconds[crisp] += (g_get_monotonic_time () - t0) / 1e6;
            cairo_destroy (cr);
          }
        renders++;
      }
  cairo_surface_destroy (surface);
  if (renders == 0)
    return;
  g_print ("U-matrix render at %d×%d px, mean of %u per mode: smooth %.2f ms, crisp %.2f ms (%.1f× faster)\n",
           width, height, renders, 1e3 * seconds[0] / renders, 1e3 * seconds[1] / renders,
           seconds[0] / MAX (seconds[1], 1e-9));
}

static gboolean
attack_in_core (SomscopeDocument *document)
{
  return somscope_document_get_attack_progress (document) > 0;
}

/* How long Stop takes to bring a running PGD attack back: from the cancel
 * to the attack's job having returned (the app idle again), a few times. */
static void
measure_attack_cancel (SomscopeWindow *window)
{
  GSettings *settings = somscope_application_get_settings (SOMSCOPE_APPLICATION (g_application_get_default ()));
  SomscopeDocument *document = somscope_window_get_document (window);
  g_autoptr(GArray) latency = g_array_new (FALSE, FALSE, sizeof (double));

  g_settings_set_int (settings, "attack-steps", 1000);
  g_settings_set_enum (settings, "attack-method", 2);
  for (guint round = 0; round < 5; round++)
    {
      gint64 t0;
      double ms;

      somscope_document_attack (document);
      while (!attack_in_core (document))
        g_main_context_iteration (NULL, TRUE);
      t0 = g_get_monotonic_time ();
      gtk_widget_activate_action (GTK_WIDGET (window), "win.cancel", NULL);
      while (somscope_document_get_attacking (document) || somscope_document_get_busy (document))
        g_main_context_iteration (NULL, TRUE);
      ms = (g_get_monotonic_time () - t0) / 1000.0;
      g_array_append_val (latency, ms);
    }
  report_counted ("Stop during a 1,000-step PGD attack, until the app is idle", latency, "stops");
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
  g_signal_connect (gtk_widget_get_frame_clock (window), "update", G_CALLBACK (update_cb), NULL);
  if (g_getenv ("SOMSCOPE_BENCH_ADJ"))
    watch_adjustments (window);
  g_signal_connect (gtk_widget_get_frame_clock (window), "layout", G_CALLBACK (layout_cb), NULL);
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint", G_CALLBACK (after_paint_cb), NULL);
  while (!finished)
    {
      if (g_get_monotonic_time () - t0 > 600 * G_USEC_PER_SEC)
        g_error ("the maps did not finish training in 10 minutes");
      g_main_context_iteration (NULL, TRUE);
    }
  compare_render_modes (SOMSCOPE_WINDOW (window));
  measure_attack_cancel (SOMSCOPE_WINDOW (window));

  /* Ctrl+Q in the middle of a PGD attack: timed until the application has
   * returned (its worker threads stopped). */
  somscope_document_attack (somscope_window_get_document (SOMSCOPE_WINDOW (window)));
  while (!attack_in_core (somscope_window_get_document (SOMSCOPE_WINDOW (window))))
    g_main_context_iteration (NULL, TRUE);
  quit_started = g_get_monotonic_time ();
  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr(SomscopeApplication) app = NULL;
  gtk_init ();
  gaps = g_array_new (FALSE, FALSE, sizeof (double));
  idle_gaps = g_array_new (FALSE, FALSE, sizeof (double));
  tail_gaps = g_array_new (FALSE, FALSE, sizeof (double));
  work = g_array_new (FALSE, FALSE, sizeof (double));
  live_work = g_array_new (FALSE, FALSE, sizeof (double));
  between = g_array_new (FALSE, FALSE, sizeof (double));
  waited = g_array_new (FALSE, FALSE, sizeof (double));
  before_gaps = g_array_new (FALSE, FALSE, sizeof (double));
  before_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  trace = g_getenv ("SOMSCOPE_BENCH_TRACE") != NULL;
  watched = g_ptr_array_new_with_free_func (g_object_unref);
  app = somscope_application_new ();
  {
    const char *epochs = g_getenv ("SOMSCOPE_BENCH_EPOCHS");

    /* Before the demo opens: the settings are read when training starts. */
    if (epochs != NULL && *epochs != '\0')
      g_settings_set_int (somscope_application_get_settings (app), "som-epochs",
                          CLAMP (atoi (epochs), 1, 1000));
  }
  g_signal_connect_after (app, "activate", G_CALLBACK (on_activate), NULL);
  g_application_run (G_APPLICATION (app), 1, argv);
  if (quit_started > 0)
    g_print ("Ctrl+Q during a 1,000-step PGD attack: the application returned after %.1f ms\n",
             (g_get_monotonic_time () - quit_started) / 1000.0);

  {
    g_autofree char *load = load_average ();

    g_print ("load average %s on %u cores\n", load, g_get_num_processors ());
  }
  g_print ("%d epochs per map (SOMSCOPE_BENCH_EPOCHS, default 20)\n",
           g_settings_get_int (somscope_application_get_settings (app), "som-epochs"));
  g_print ("training took %.1f s; %u intermediate maps (the latest epoch's of a layer, coalesced) reached the views\n",
           (stopped - started) / 1e6, live_updates);
  g_print ("frame that showed the loaded document: gap %.1f ms, main-thread CPU %.1f ms, %ld page faults\n",
           opening_gap, opening_cpu, opening_faults);
  report ("frame gap after it, before the jobs started", before_gaps);
  report ("main-thread CPU time between those frames", before_cpu);
  report ("frame gap while training", gaps);
  report ("frame gap after the maps, while the other jobs end (the attack's results)", tail_gaps);
  report ("frame gap after training (baseline)", idle_gaps);
  /* In GTK 4.8 on X11 a frame with a layout asks the X server for the
   * window's geometry and monitor (round trips) before it paints. */
  g_print ("frames while training with a layout phase: %u of %u\n", layout_frames, work->len);
  report ("main-thread CPU time per frame (update to paint) while training", work);
  report ("the same, frames that drew new intermediate maps", live_work);
  /* Everything the main thread ran between two frames (idles included):
   * a gap much longer than this is the scheduler's, not the app's. */
  report ("main-thread CPU time between consecutive frames while training", between);
  report ("main thread runnable but waiting for a CPU, between consecutive frames while training", waited);
  /* What is left once the scheduler's part is taken out: the app's work,
   * the X server's and the frame clock's own timing. */
  {
    g_autoptr(GArray) less = g_array_sized_new (FALSE, FALSE, sizeof (double), gaps->len);

    for (guint i = 0; i < gaps->len && i < waited->len; i++)
      {
        double d = g_array_index (gaps, double, i) - g_array_index (waited, double, i);

        g_array_append_val (less, d);
      }
    report ("frame gap while training, less the main thread's wait for a CPU", less);
  }
  return gaps->len > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
