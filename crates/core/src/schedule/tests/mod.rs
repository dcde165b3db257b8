mod cron_parse;
mod decide;
mod naming;
mod retention;
mod settle;
mod support;
mod ticks;
mod volume;
