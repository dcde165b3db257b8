mod cron_parse;
mod decide;
mod naming;
mod retention;
mod support;
mod ticks;
